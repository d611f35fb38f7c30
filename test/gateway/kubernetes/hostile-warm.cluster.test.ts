import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import { parseConfig } from '../../../gateway/config.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  loadKubeConfig,
  nodeProblem,
  runtimeClassExists,
  startOperator,
} from '../../helpers/cluster-suite.js';
import { runToEnd } from '../../helpers/embedded.js';
import { testLogger } from '../../helpers/gateway.js';
import { hostileSuite } from '../hostile-suite.js';

// The hostile-program suite (test/gateway/hostile-suite.ts) once more, on warm pods: a WarmPool of
// each runtime it uses, as large as the maxima (memory halved, to fit the dev node; scratch the default),
// and before each program the pool of its runtime is waited for until a pod is ready, so the
// program is served warm. Requests that cannot be (judged tests, more memory than the pool) go
// cold as they would in production; the count of warm ones is printed at the end.

const problem = nodeProblem();
const RUNTIMES = ['bash', 'c', 'cpp', 'javascript', 'python'];

function readyPods(namespace: string, runtime: string): number {
  const ready = kubectl(['get', 'wp', runtime, '-n', namespace, '-o', 'jsonpath={.status.readyReplicas}']);
  return ready.ok ? Number(ready.out || 0) : 0;
}

if (problem) {
  describe(`hostile programs on warm pods — SKIPPED, NO CLUSTER OR NODE: ${problem}`, () => {
    it('needs the dev cluster (dev-cluster/up.sh) with a Ready node');
  });
} else {
  hostileSuite('kubernetes backend and operator on warm pods, dev cluster', async () => {
    const namespace = `sandpod-gw-hostile-warm-${process.pid}-${Date.now().toString(36)}`;
    installCrds();
    createNamespace(namespace);
    const gvisor = runtimeClassExists('gvisor');
    const policy = { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS };
    const operator = await startOperator(namespace, {
      pod: {
        runtimeClassName: gvisor ? 'gvisor' : '',
        seccomp: { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' },
        annotations: { 'dev.gvisor.flag.oci-seccomp': 'true' },
        cpus: 0.25,
      },
      limits: policy,
    });
    // Scratch must match a request's exactly to be served warm; the suite's requests take the default.
    const poolLimits = { ...DEFAULT_MAX_LIMITS, memoryMiB: 512, diskMiB: DEFAULT_LIMITS.diskMiB };
    for (const runtime of RUNTIMES) {
      const body = {
        apiVersion: 'sandpod.dev/v1alpha1',
        kind: 'WarmPool',
        metadata: { name: runtime, namespace },
        spec: { runtime, replicas: 1, limits: poolLimits },
      };
      const applied = kubectl(['apply', '-f', '-'], JSON.stringify(body));
      if (!applied.ok) throw new Error(applied.out);
    }
    const config = parseConfig({ backend: 'kubernetes', kubernetes: { namespaces: { default: namespace } } });
    const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
    let runs = 0;
    let warm = 0;
    return {
      run: async (request) => {
        // Only a runtime with a pool is waited for: the others (go, java) are served cold at once.
        if (RUNTIMES.includes(request.runtime)) {
          const deadline = Date.now() + 60_000;
          while (readyPods(namespace, request.runtime) < 1 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        const result = await runToEnd(backend, request);
        runs += 1;
        const served = kubectl(['get', 'ex', result.id, '-n', namespace, '-o', 'jsonpath={.status.warm}']);
        if (served.out.trim() === 'true') warm += 1;
        return result;
      },
      close: async () => {
        process.stdout.write(`      ${warm} of ${runs} hostile programs were served warm\n`);
        await backend.close(0);
        await operator.stop();
        deleteNamespace(namespace);
      },
      countsTasks: !gvisor,
      mountsScratch: false,
    };
  });
}
