import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import { parseConfig } from '../../../gateway/config.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  loadKubeConfig,
  nodeProblem,
  runtimeClassExists,
  startOperator,
} from '../../helpers/cluster-suite.js';
import { runToEnd } from '../../helpers/embedded.js';
import { testLogger } from '../../helpers/gateway.js';
import { hostileSuite } from '../hostile-suite.js';

// Needs the dev cluster with a Ready node and the default Runtimes' images on it. The hostile
// programs of test/gateway/hostile-suite.ts run as Executions: the Kubernetes backend submits them, the operator
// (started here, watching this run's namespace) runs them in pods.

const problem = nodeProblem();

if (problem) {
  describe(`hostile programs on Kubernetes — SKIPPED, NO CLUSTER OR NODE: ${problem}`, () => {
    it('needs the dev cluster (dev-cluster/up.sh) with a Ready node');
  });
} else {
  hostileSuite('kubernetes backend and operator, dev cluster', async () => {
    const namespace = `sandpod-gw-hostile-${process.pid}-${Date.now().toString(36)}`;
    installCrds();
    createNamespace(namespace);
    const gvisor = runtimeClassExists('gvisor');
    const policy = { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS };
    const operator = await startOperator(namespace, {
      pod: {
        runtimeClassName: gvisor ? 'gvisor' : '',
        // The project's profile, which dev-cluster/node.sh puts into the kubelet's seccomp root;
        // the annotation has gVisor apply it inside the sandbox, where runc applies it anyway.
        seccomp: { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' },
        annotations: { 'dev.gvisor.flag.oci-seccomp': 'true' },
      },
      limits: policy,
    });
    const config = parseConfig({ backend: 'kubernetes', kubernetes: { namespaces: { default: namespace } } });
    const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
    return {
      run: (request) => runToEnd(backend, request),
      close: async () => {
        await backend.close(0);
        await operator.stop();
        deleteNamespace(namespace);
      },
      // gVisor runs a program's tasks as goroutines and does not enforce the pids limit.
      countsTasks: !gvisor,
      // The kubelet mounts the emptyDir that holds /tmp and /work: no inode cap, no nosuid.
      mountsScratch: false,
    };
  });
}
