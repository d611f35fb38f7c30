import assert from 'node:assert/strict';
import { loadOperatorConfig, OperatorConfigError, parseOperatorConfig } from '../../operator/config.js';

describe('operator configuration', () => {
  it('should default to gVisor, RuntimeDefault seccomp and uid 65534 when nothing is set', () => {
    const config = parseOperatorConfig({});
    assert.equal(config.pod.runtimeClassName, 'gvisor');
    assert.deepEqual(config.pod.seccomp, { type: 'RuntimeDefault' });
    assert.equal(config.pod.uid, 65534);
    assert.equal(config.leaderElection.enabled, true);
  });

  it('should name the bad field when the configuration is wrong', () => {
    assert.throws(
      () => parseOperatorConfig({ pod: { seccomp: { type: 'Localhost' } } }),
      (error: unknown) => error instanceof OperatorConfigError && /pod\.seccomp/.test(error.message),
    );
    assert.throws(() => parseOperatorConfig({ pod: { uid: 0 } }), /pod\.uid/);
    assert.throws(() => parseOperatorConfig({ pod: { cpus: 0.5, cpuRequest: 1 } }), /pod\.cpuRequest.*at most cpus/);
    assert.equal(parseOperatorConfig({ pod: { cpus: 1, cpuRequest: 0.25 } }).pod.cpuRequest, 0.25);
  });

  it('should take the Lease namespace from POD_NAMESPACE and the watch scope from WATCH_NAMESPACE', () => {
    const config = loadOperatorConfig({ POD_NAMESPACE: 'ops', WATCH_NAMESPACE: 'tenant-a', LOG_LEVEL: 'debug' });
    assert.equal(config.leaderElection.leaseNamespace, 'ops');
    assert.equal(config.watchNamespace, 'tenant-a');
    assert.equal(config.logLevel, 'debug');
  });

  it('should take the RuntimeClass from SANDPOD_RUNTIME_CLASS over the file, empty meaning runc', () => {
    assert.equal(loadOperatorConfig({ SANDPOD_RUNTIME_CLASS: '' }).pod.runtimeClassName, '');
    assert.equal(loadOperatorConfig({ SANDPOD_RUNTIME_CLASS: 'kata' }).pod.runtimeClassName, 'kata');
    assert.equal(loadOperatorConfig({}).pod.runtimeClassName, 'gvisor');
  });

  it('should pace requests at 100 per second with a burst of 200 unless told otherwise, 0 meaning no limit', () => {
    assert.deepEqual(parseOperatorConfig({}).api, { qps: 100, burst: 200 });
    assert.deepEqual(parseOperatorConfig({ api: { qps: 0 } }).api, { qps: 0, burst: 200 });
    assert.throws(() => parseOperatorConfig({ api: { burst: 0 } }), /api\.burst/);
  });
});
