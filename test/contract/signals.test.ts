import assert from 'node:assert/strict';
import { signalName, splitExitStatus } from '../../contract/index.js';

describe('splitExitStatus', () => {
  it('should read 128+n as signal n, as shells and the kubelet do', () => {
    assert.deepEqual(splitExitStatus(137), { exitCode: null, signal: 'SIGKILL' });
    assert.deepEqual(splitExitStatus(139), { exitCode: null, signal: 'SIGSEGV' });
    assert.deepEqual(splitExitStatus(152), { exitCode: null, signal: 'SIGXCPU' });
  });

  it('should keep plain exit codes when they name no standard signal', () => {
    assert.deepEqual(splitExitStatus(0), { exitCode: 0, signal: null });
    assert.deepEqual(splitExitStatus(1), { exitCode: 1, signal: null });
    assert.deepEqual(splitExitStatus(128), { exitCode: 128, signal: null });
    assert.deepEqual(splitExitStatus(200), { exitCode: 200, signal: null });
  });
});

describe('signalName', () => {
  it('should name a standard signal and number any other', () => {
    assert.equal(signalName(9), 'SIGKILL');
    assert.equal(signalName(31), 'SIGSYS');
    assert.equal(signalName(34), 'SIG34');
  });
});
