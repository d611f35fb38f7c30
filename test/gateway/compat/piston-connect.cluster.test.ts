import {
  type ClusterGateway,
  type ClusterNamespace,
  startClusterGateway,
  startClusterNamespace,
} from '../../helpers/cluster-gateway.js';
import { nodeProblem, nodeSuiteTitle, skipOrFail } from '../../helpers/cluster-suite.js';
import { pistonConnectCases } from './piston-connect-cases.js';

// Needs the dev cluster with a Ready node and the default Runtimes' images: the cases of
// piston-connect.sandbox.test.ts, through a gateway on the Kubernetes backend and operator/main.ts.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'Piston v2 connect WebSocket (kubernetes)',
  'needs the dev cluster with a Ready node',
);

describe(title, function () {
  this.timeout(240_000);
  let cluster: ClusterNamespace | undefined;
  let gateway: ClusterGateway | undefined;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    cluster = await startClusterNamespace('sandpod-piston-connect');
    // Without tenants, clients on loopback are served as the default tenant, as in embedded mode.
    gateway = await startClusterGateway(cluster.namespace, []);
  });

  after(async () => {
    await gateway?.close();
    await cluster?.stop();
  });

  pistonConnectCases({ url: () => gateway?.url ?? '' });
});
