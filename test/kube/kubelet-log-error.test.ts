import assert from 'node:assert/strict';
import { KubeletLogError, kubeletLogError } from '../../kube/kubelet-log-error.js';

const CONTAINER_ID = 'e2b64da79cbeef515bb2e0c241ae84b3c703e1be189cdd5aea2273f3dc0259ac';

describe('kubeletLogError', () => {
  const errors = [
    // Seen as a hello world's "output" after containerd restarted under the chaos campaign.
    `unable to retrieve container logs for containerd://${CONTAINER_ID}`,
    `unable to retrieve container logs for cri-o://${CONTAINER_ID}`,
    'container status is nil',
    'failed to open log file "/var/log/pods/t_ex-1-run_0f/run/0.log": open /var/log/pods/t_ex-1-run_0f/run/0.log: no such file or directory',
    'failed to try resolving symlinks in path "/var/log/pods/t_ex-1-run_0f/run/0.log": lstat /var/log/pods: no such file or directory',
  ];
  for (const text of errors) {
    it(`should take "${text.slice(0, 48)}…" as the kubelet's error`, () => {
      assert.equal(kubeletLogError(text), text);
      assert.equal(kubeletLogError(Buffer.from(text)), text);
    });
  }

  const programs = [
    'hello\n',
    '',
    // The error text with anything of the program's around it is the program's output.
    `unable to retrieve container logs for containerd://${CONTAINER_ID}\n`,
    `y\nunable to retrieve container logs for containerd://${CONTAINER_ID}`,
    `unable to retrieve container logs for containerd://${CONTAINER_ID}\ny\ny\n`,
    'unable to retrieve container logs for containerd://not-an-id',
    `${'x'.repeat(2000)}`,
  ];
  for (const text of programs) {
    it(`should take ${JSON.stringify(text.slice(0, 40))} as the program's output`, () => {
      assert.equal(kubeletLogError(text), undefined);
      assert.equal(kubeletLogError(new TextEncoder().encode(text)), undefined);
    });
  }

  it('should name the kubelet in the error a failed read throws', () => {
    const error = new KubeletLogError('container status is nil');
    assert.match(error.message, /^the kubelet could not read the container's log: container status is nil$/);
  });
});
