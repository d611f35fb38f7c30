import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import { type EmbeddedFixture, runToEnd, startEmbedded } from '../../helpers/embedded.js';

// The kernel counts some objects per user, across every process of that user on the machine:
// inotify instances (fs.inotify.max_user_instances, 128 by default) and the bytes of POSIX message
// queues (RLIMIT_MSGQUEUE). A program that holds all of them must not take them from programs
// of other executions. Embedded only: on Kubernetes every pod runs in a gVisor sandbox of its own,
// whose kernel keeps these counts per sandbox.

/** Takes every inotify instance and message queue it can, says how many, then waits for stdin. */
const HOLDER = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
instances = 0
while libc.inotify_init1(0) >= 0:
    instances += 1
queues = 0
while libc.mq_open(f"/q{queues}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None) >= 0:
    queues += 1
print("held", instances, queues, flush=True)
input()
`;

/** Makes one of each and says whether it could. */
const USER = `
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
print("inotify", "ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()])
fd = libc.mq_open(b"/mine", os.O_CREAT | os.O_RDWR, 0o600, None)
print("mqueue", "ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()])
`;

describe('embedded per-user kernel counters', function () {
  this.timeout(60_000);
  let fixture: EmbeddedFixture;

  before(async () => {
    fixture = await startEmbedded();
  });
  after(async () => {
    await fixture?.close();
  });

  it('should leave inotify and message queues to other runs when one program holds all it can', async () => {
    const { backend } = fixture;
    const { id } = await backend.start('holder', {
      runtime: 'python',
      source: HOLDER,
      interactive: true,
      limits: { ...DEFAULT_LIMITS, wallTimeMs: 30_000 },
    });
    let held = '';
    for await (const event of backend.follow('holder', id, new AbortController().signal) ?? []) {
      if (event.type === 'output') held += event.data;
      if (/held \d+ \d+\n/.test(held) || event.type === 'exit') break;
    }

    const other = await runToEnd(backend, { runtime: 'python', source: USER }, 'other');
    await backend.stdin('holder', id, null);
    await backend.wait('holder', id);

    assert.match(held, /^held \d+ \d+$/m, held);
    assert.equal(other.stdout, 'inotify ok\nmqueue ok\n', `${held}${other.stdout}${other.stderr}`);
  });
});
