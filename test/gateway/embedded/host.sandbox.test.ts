import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EmbeddedFixture, runToEnd, startEmbedded } from '../../helpers/embedded.js';
import { timeScale } from '../../helpers/time-scale.js';

// What only the host can check: nothing a program starts outlives its run, nothing it plants in
// its scratch space is followed by the host, and nothing of a run stays behind on the machine.

const run = promisify(execFile);

/** Processes whose cgroup path names the execution, in any hierarchy. */
async function processesOf(executionId: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cgroups = await readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    if (cgroups.includes(executionId)) found.push(Number(entry));
  }
  return found;
}

describe('embedded sandbox on the host', function () {
  this.timeout(60_000 * timeScale);
  let fixture: EmbeddedFixture;

  before(async () => {
    fixture = await startEmbedded();
  });
  after(async () => {
    await fixture?.close();
  });

  it('should leave no process behind when main returns while a child forks forever', async () => {
    const source = `
#include <unistd.h>
int main(void) {
  if (fork() == 0) { for (;;) fork(); }
  return 0;
}`;
    const result = await runToEnd(fixture.backend, { runtime: 'c', source });
    assert.equal(result.reason, 'Completed');
    assert.deepEqual(await processesOf(result.id), []);
  });

  it('should leave no daemon behind when a program forks, calls setsid, ignores SIGHUP and closes its fds', async () => {
    const source = `
#include <signal.h>
#include <unistd.h>
int main(void) {
  if (fork() == 0) {
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    close(0); close(1); close(2);
    for (;;) sleep(1);
  }
  return 0;
}`;
    const result = await runToEnd(fixture.backend, { runtime: 'c', source });
    assert.equal(result.reason, 'Completed');
    assert.deepEqual(await processesOf(result.id), []);
  });

  it('should give a program pipes for stdio, so that /dev/stdin opens as it does under a shell', async () => {
    const result = await runToEnd(fixture.backend, {
      runtime: 'bash',
      source: 'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; cat /dev/stdin',
      stdin: 'given\n',
    });
    assert.equal(result.reason, 'Completed', result.stderr);
    const [stdin, stdout, stderr, echoed] = result.stdout.split('\n');
    for (const link of [stdin, stdout, stderr]) assert.match(link ?? '', /^pipe:\[\d+\]$/);
    assert.equal(echoed, 'given');
  });

  it('should never follow a symlink the program plants where the runner works', async () => {
    const canary = `/tmp/sandpod-canary-${randomBytes(4).toString('hex')}`;
    await writeFile(canary, 'original');
    try {
      const source = `
cd /work
for name in config.json main.sh main stdout stderr init.pid runtime.log ../x; do
  rm -f "$name"; ln -s ${canary} "$name" 2>/dev/null
done
ln -s ${canary} /tmp/config.json
ln -s / /work/root
echo planted`;
      const result = await runToEnd(fixture.backend, { runtime: 'bash', source, stdin: 'input' });
      assert.match(result.stdout, /planted/);
      assert.equal(await readFile(canary, 'utf8'), 'original');
    } finally {
      await rm(canary, { force: true });
    }
  });

  it('should hold /work, /tmp and /dev/shm together to one disk cap when each is written to', async () => {
    for (const runtime of ['bash', 'c']) {
      // bash gets its scratch from the OCI runtime, c (two steps) from a tmpfs on the host.
      const source =
        runtime === 'bash'
          ? 'head -c 6M /dev/zero > /work/a && head -c 6M /dev/zero > /tmp/b && head -c 6M /dev/zero > /dev/shm/c && echo wrote all'
          : '#include <stdlib.h>\nint main(void){return system("head -c 6M /dev/zero > /work/a && head -c 6M /dev/zero > /tmp/b && head -c 6M /dev/zero > /dev/shm/c && echo wrote all");}';
      const result = await runToEnd(fixture.backend, { runtime, source, limits: { diskMiB: 16 } });
      assert.doesNotMatch(result.stdout, /wrote all/, runtime);
      assert.match(result.stderr, /No space left on device/, runtime);
    }
  });

  it('should remove every mount, bundle and container of a run once the backend has drained', async () => {
    const own = await startEmbedded();
    await Promise.all([
      runToEnd(own.backend, { runtime: 'python', source: 'print(1)' }),
      runToEnd(own.backend, { runtime: 'c', source: 'int main(void){return 0;}' }),
      runToEnd(own.backend, { runtime: 'bash', source: 'yes', limits: { outputBytes: 1000 } }),
    ]);
    // Results are reported before the tear-down ends; closing waits for every tear-down.
    await own.backend.close(5_000);
    const stateDir = own.config.embedded.stateDir;
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    assert.ok(!mounts.includes(stateDir), 'a scratch mount was left behind');
    assert.deepEqual(await readdir(join(stateDir, 'executions')), []);
    assert.deepEqual(await readdir(join(stateDir, 'bundles')), []);
    const runtimeState = await readdir(join(stateDir, own.config.embedded.ociRuntime)).catch(() => []);
    assert.deepEqual(runtimeState, []);
    await own.close();
  });
  it('should keep a mount the host has below a read-only bind read-only and nosuid too', async () => {
    // A tmpfs anyone may write, below /usr: a bind that is read-only only at its top leaves it so.
    const below = `/usr/local/share/sandpod-submount-${randomBytes(4).toString('hex')}`;
    await mkdir(below);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'tmpfs', below]);
      const result = await runToEnd(fixture.backend, {
        runtime: 'bash',
        source: `touch ${below}/planted && echo wrote; grep " ${below} " /proc/self/mounts`,
      });

      assert.doesNotMatch(result.stdout, /wrote/);
      assert.match(result.stderr, /Read-only file system/);
      // runc shows the submount in the program's mount table; runsc serves it as part of /usr.
      const line = result.stdout.split('\n').find((entry) => entry.includes(below));
      if (line) {
        assert.match(line, /[ ,]ro[ ,]/, line);
        assert.match(line, /nosuid/, line);
      }
    } finally {
      await run('umount', [below]).catch(() => undefined);
      await rmdir(below);
    }
  });
});
