import {
  type ClusterGateway,
  type ClusterNamespace,
  startClusterGateway,
  startClusterNamespace,
} from '../../helpers/cluster-gateway.js';
import { nodeProblem, nodeSuiteTitle, skipOrFail } from '../../helpers/cluster-suite.js';
import { sha256Hex } from '../../helpers/gateway.js';
import { JUDGE0_SDK, testPython } from '../../helpers/python-venv.js';
import { JUDGE0_CALLBACKS, JUDGE0_TENANT, judge0Cases } from './judge0-cases.js';

// Needs the dev cluster with a Ready node and the default Runtimes' images: the Judge0 cases of
// judge0.sandbox.test.ts, through a gateway on the Kubernetes backend and operator/main.ts.

const problem = nodeProblem();
const title = nodeSuiteTitle(problem, 'Judge0 CE API (kubernetes)', 'needs the dev cluster with a Ready node');
const TOKEN = 'judge0-compat-token';

describe(title, function () {
  this.timeout(240_000);
  let cluster: ClusterNamespace | undefined;
  let gateway: ClusterGateway | undefined;
  let python: string;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    python = await testPython([JUDGE0_SDK]);
    cluster = await startClusterNamespace('sandpod-judge0');
    gateway = await startClusterGateway(cluster.namespace, [{ ...JUDGE0_TENANT, tokenSha256: [sha256Hex(TOKEN)] }], {
      callbacks: JUDGE0_CALLBACKS,
    });
  });

  after(async () => {
    await gateway?.close();
    await cluster?.stop();
  });

  judge0Cases({
    url: () => gateway?.url ?? '',
    token: TOKEN,
    python: () => python,
    settled: async (token) => {
      await gateway?.backend.wait('judge', token);
    },
  });
});
