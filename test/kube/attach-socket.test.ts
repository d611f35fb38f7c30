import assert from 'node:assert/strict';
import { attachEnd, attachPath } from '../../kube/attach-socket.js';

describe('attachEnd', () => {
  it('should call an attach ended when the status channel says Success', () => {
    assert.deepEqual(attachEnd('{"metadata":{},"status":"Success"}', ''), { kind: 'ended' });
  });

  it('should call an attach refused, with its message, when the status channel says Failure', () => {
    const status = JSON.stringify({
      status: 'Failure',
      message: 'container sandpod-run is not valid for pod x-run',
      reason: 'BadRequest',
    });
    assert.deepEqual(attachEnd(status, ''), {
      kind: 'refused',
      message: 'container sandpod-run is not valid for pod x-run',
    });
  });

  it('should call an attach broken when it closed without a status', () => {
    assert.deepEqual(attachEnd(undefined, 'going away', 1001), {
      kind: 'broken',
      message: 'the attach connection closed (1001: going away)',
    });
    assert.equal(attachEnd(undefined, '').kind, 'broken');
  });

  it('should call an attach broken when its status cannot be read', () => {
    assert.equal(attachEnd('not json', '').kind, 'broken');
  });
});

describe('attachPath', () => {
  it('should ask for stdin, stdout and stderr of the named container without a terminal', () => {
    const path = attachPath('team a', 'x-run', 'sandpod-run');
    const url = new URL(path, 'https://api.example');

    assert.equal(url.pathname, '/api/v1/namespaces/team%20a/pods/x-run/attach');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      container: 'sandpod-run',
      stdin: 'true',
      stdout: 'true',
      stderr: 'true',
      tty: 'false',
    });
  });
});
