import {
  type ClusterGateway,
  type ClusterNamespace,
  startClusterGateway,
  startClusterNamespace,
} from '../../helpers/cluster-gateway.js';
import { nodeProblem, nodeSuiteTitle, skipOrFail } from '../../helpers/cluster-suite.js';
import { pistonCases } from './piston-cases.js';

// Needs the dev cluster with a Ready node and the default Runtimes' images: the cases of
// piston.sandbox.test.ts, through a gateway on the Kubernetes backend and operator/main.ts.

const problem = nodeProblem();
const title = nodeSuiteTitle(problem, 'Piston v2 API (kubernetes)', 'needs the dev cluster with a Ready node');

describe(title, function () {
  this.timeout(240_000);
  let cluster: ClusterNamespace | undefined;
  let gateway: ClusterGateway | undefined;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    cluster = await startClusterNamespace('sandpod-piston');
    // Without tenants, clients on loopback are served as the default tenant, as in embedded mode.
    gateway = await startClusterGateway(cluster.namespace, []);
  });

  after(async () => {
    await gateway?.close();
    await cluster?.stop();
  });

  pistonCases({ url: () => gateway?.url ?? '' });
});
