import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../contract/index.js';
import { parseConfig } from '../../gateway/config.js';
import { createKubernetesBackend } from '../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  loadKubeConfig,
  nodeProblem,
  runtimeClassExists,
  startOperator,
} from '../helpers/cluster-suite.js';
import { startGateway, testLogger } from '../helpers/gateway.js';
import { languageSuite } from './language-suite.js';

// Every catalog runtime on the dev cluster's real node: the Kubernetes gateway creates Executions,
// the operator (started here, watching this run's namespace) runs them in pods of the runtime
// images (dev-cluster/images/build-images.sh builds them from the catalog when the node starts;
// dev-cluster/sandpod.sh applies the Runtimes of manifests/runtimes/), under gVisor where the
// node has it.

const problem = nodeProblem();

if (problem) {
  describe(`languages on Kubernetes — SKIPPED, NO CLUSTER OR NODE: ${problem}`, () => {
    it('needs the dev cluster (dev-cluster/up.sh) with a Ready node');
  });
} else {
  languageSuite('languages, kubernetes backend and operator, dev cluster', async () => {
    const namespace = `sandpod-languages-${process.pid}-${Date.now().toString(36)}`;
    installCrds();
    createNamespace(namespace);
    const gvisor = runtimeClassExists('gvisor');
    const operator = await startOperator(namespace, {
      pod: {
        runtimeClassName: gvisor ? 'gvisor' : '',
        seccomp: { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' },
        annotations: { 'dev.gvisor.flag.oci-seccomp': 'true' },
      },
      limits: { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS },
    });
    const config = parseConfig({ backend: 'kubernetes', kubernetes: { namespaces: { default: namespace } } });
    const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
    const gateway = await startGateway(config, backend);
    return {
      url: gateway.url,
      close: async () => {
        await gateway.close();
        await backend.close(0);
        await operator.stop();
        deleteNamespace(namespace);
      },
    };
  });
}
