import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import type { ExecutionResult } from '../../contract/index.js';
import type { RunRequest } from '../helpers/embedded.js';
import { timeScale } from '../helpers/time-scale.js';

// Hostile programs from the public record of online judges and more of the same kinds, listed
// in docs/hostile-programs.md. Written against a `run` function alone, so every backend faces the
// same suite.

export interface HostileTarget {
  run(request: RunRequest): Promise<ExecutionResult>;
  close(): Promise<void>;
  /**
   * Whether the program's own tasks are counted against `pids`. gVisor runs them as goroutines
   * of its sentry and does not enforce the spec's pids limit (google/gvisor#2490), so there a
   * thread bomb is bounded by memory and time instead, and the suite checks that.
   */
  countsTasks: boolean;
  /**
   * Whether the backend mounts scratch space itself. Embedded mode mounts its own tmpfs with an
   * inode cap and nosuid. On Kubernetes the kubelet mounts the emptyDir with a size limit only and
   * without nosuid, and no pod field sets either; there an endless file creator is ended by its
   * run's own limits instead, and a setuid file in scratch is inert under no_new_privs, which the
   * suite checks in their place.
   */
  mountsScratch: boolean;
}

const c = (source: string, extra: Partial<RunRequest> = {}): RunRequest => ({ runtime: 'c', source, ...extra });
const python = (source: string, extra: Partial<RunRequest> = {}): RunRequest => ({
  runtime: 'python',
  source,
  ...extra,
});

/** A C program that reports, one per line, `name errno` for each call that should be refused. */
const refusedCallsProgram = `
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#define REPORT(name, call) do { errno = 0; long r = (long)(call); printf("%s %ld %d\\n", name, r, r < 0 ? errno : 0); } while (0)
int main(void) {
  REPORT("unshare", unshare(CLONE_NEWUSER | CLONE_NEWNS));
  REPORT("unshare_net", unshare(CLONE_NEWNET));
  REPORT("mount", mount("none", "/tmp", "tmpfs", 0, ""));
  REPORT("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3));
  REPORT("keyctl", syscall(SYS_keyctl, 0, -3, 0));
  REPORT("ptrace", ptrace(PTRACE_ATTACH, 1, 0, 0));
  REPORT("io_uring_setup", syscall(425, 8, (void*)0));
  REPORT("bpf", syscall(SYS_bpf, 0, 0, 0));
  REPORT("perf_event_open", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));
  REPORT("userfaultfd", syscall(SYS_userfaultfd, 0));
  REPORT("setns", syscall(SYS_setns, 0, 0));
  REPORT("chroot", chroot("/tmp"));
  REPORT("packet", socket(AF_PACKET, SOCK_RAW, 0));
  REPORT("raw", socket(AF_INET, SOCK_RAW, 1));
  REPORT("netlink", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
  REPORT("vsock", socket(40, SOCK_STREAM, 0));
  REPORT("setuid", setuid(0));
  return 0;
}`;

export function hostileSuite(label: string, setup: () => Promise<HostileTarget>): void {
  describe(`hostile programs (${label})`, function () {
    this.timeout(120_000 * timeScale);
    let target: HostileTarget;
    const run = (request: RunRequest) => target.run(request);

    before(async () => {
      target = await setup();
    });
    after(async () => {
      await target?.close();
    });

    describe('time', () => {
      it('should end an infinite loop at the wall limit when it never yields', async () => {
        const result = await run(c('int main(void){for(;;);}', { limits: { wallTimeMs: 1000, cpuTimeMs: 10_000 } }));
        assert.equal(result.reason, 'TimeLimitExceeded');
        assert.equal(result.phase, 'Failed');
        // Both backends word a limit the same way (contract/verdict.ts).
        assert.equal(result.message, `exceeded the wall time limit of ${1000 * timeScale} ms`);
      });

      it('should still kill a program that ignores SIGTERM when the wall limit passes', async () => {
        const result = await run({
          runtime: 'javascript',
          source: "process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); for (;;) {}",
          limits: { wallTimeMs: 1000, cpuTimeMs: 10_000 },
        });
        assert.equal(result.reason, 'TimeLimitExceeded');
      });

      it('should end a sleeping program at the wall limit when it uses no CPU', async () => {
        const result = await run(python('import time\ntime.sleep(60)', { limits: { wallTimeMs: 800 } }));
        assert.equal(result.reason, 'TimeLimitExceeded');
        assert.ok((result.durationMs ?? 0) < 5000 * timeScale, `ran for ${result.durationMs} ms`);
      });

      it('should count the CPU time of every process when the work is spread over children', async () => {
        // Four busy children each stay under a per-process limit; only cgroup accounting adds them up.
        const source = `
import os
for _ in range(4):
    if os.fork() == 0:
        while True: pass
os.wait()`;
        const result = await run(python(source, { limits: { cpuTimeMs: 1000, wallTimeMs: 20_000 } }));
        assert.equal(result.reason, 'TimeLimitExceeded');
        assert.match(result.message, new RegExp(`^exceeded the CPU time limit of ${1000 * timeScale} ms`));
      });

      it('should count the CPU time of short children that nobody reaps when their parent ignores SIGCHLD', async () => {
        // The kernel reaps each spinner at once, so its time reaches no parent's cutime; each lives
        // shorter than a look at /proc. Only a counter that keeps the time of exited tasks sees it.
        const source = `
#include <signal.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    if (fork() == 0) { long long end = now_ns() + 5000000; while (now_ns() < end) {} _exit(0); }
    usleep(5500);
  }
}`;
        const result = await run(c(source, { limits: { cpuTimeMs: 1000, wallTimeMs: 30_000 } }));
        assert.equal(result.reason, 'TimeLimitExceeded', result.message);
        assert.match(result.message, new RegExp(`^exceeded the CPU time limit of ${1000 * timeScale} ms`));
      });

      it('should count the CPU time of every thread when a program busy-loops in threads', async () => {
        const source = `
#include <pthread.h>
void *spin(void *arg) { (void)arg; for (;;); return 0; }
int main(void) { pthread_t t[4]; for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, spin, 0); pthread_join(t[0], 0); }`;
        const result = await run({
          runtime: 'c',
          source,
          limits: { cpuTimeMs: 1000, wallTimeMs: 20_000 },
        });
        assert.equal(result.reason, 'TimeLimitExceeded');
        assert.match(result.message, new RegExp(`^exceeded the CPU time limit of ${1000 * timeScale} ms`));
      });
    });

    describe('memory', () => {
      it('should report MemoryLimitExceeded when a C++ program keeps allocating and touching pages', async () => {
        const source = `
#include <cstring>
int main() { for (;;) { int *block = new int[100000000]; std::memset(block, 1, 100000000 * sizeof(int)); } }`;
        const result = await run({ runtime: 'cpp', source, limits: { memoryMiB: 64 } });
        assert.equal(result.reason, 'MemoryLimitExceeded', JSON.stringify(result));
        assert.equal(result.phase, 'Failed');
      });

      it('should give a memory verdict or an error when Python asks for 64 GiB at once', async () => {
        const result = await run(python('x = bytearray(1 << 36)\nprint("allocated")', { limits: { memoryMiB: 64 } }));
        assert.ok(['MemoryLimitExceeded', 'NonZeroExit'].includes(result.reason ?? ''), JSON.stringify(result));
        assert.doesNotMatch(result.stdout, /allocated/);
        if (result.reason === 'NonZeroExit') assert.match(result.stderr, /MemoryError/);
      });

      it('should report MemoryLimitExceeded when Node pushes ever larger arrays', async () => {
        const source = 'const keep = []; for (let n = 1; ; n *= 2) keep.push(new Array(n).fill(n));';
        const result = await run({ runtime: 'javascript', source, limits: { memoryMiB: 96 } });
        assert.equal(
          result.reason,
          'MemoryLimitExceeded',
          JSON.stringify({ ...result, stdout: '', stderr: result.stderr.slice(0, 400) }),
        );
      });

      it('should report MemoryLimitExceeded when a Java program keeps arrays it allocates', async () => {
        // The JVM's serial collector grows the heap as live data needs it (runtimes/catalog.yaml),
        // so the kernel's memory limit, not the JVM's own heap cap, ends the program.
        const source = `
import java.util.ArrayList;
public class Main {
    public static void main(String[] args) {
        ArrayList<long[]> kept = new ArrayList<>();
        for (;;) kept.add(new long[1 << 20]);
    }
}`;
        const result = await run({ runtime: 'java', source, limits: { memoryMiB: 128, wallTimeMs: 30_000 } });
        assert.equal(
          result.reason,
          'MemoryLimitExceeded',
          JSON.stringify({ ...result, stderr: result.stderr.slice(0, 400) }),
        );
      });

      it('should report MemoryLimitExceeded when a Go program keeps slices it allocates and touches', async () => {
        const source = `
package main

func main() {
	var kept [][]byte
	for {
		block := make([]byte, 8<<20)
		for i := range block {
			block[i] = 1
		}
		kept = append(kept, block)
	}
}`;
        const result = await run({ runtime: 'go', source, limits: { memoryMiB: 96, wallTimeMs: 30_000 } });
        assert.equal(
          result.reason,
          'MemoryLimitExceeded',
          JSON.stringify({ ...result, stderr: result.stderr.slice(0, 400) }),
        );
      });
    });

    describe('compile bombs', () => {
      it('should end with CompileError when an array declaration asks the compiler for 16 GiB', async () => {
        const result = await run(c('main[-1u]={1};'));
        assert.equal(result.reason, 'CompileError');
        assert.ok(result.compile, 'the result should carry the compile step');
      });

      it('should end with CompileError when an initialized array makes a 1 GiB object file', async () => {
        const result = await run(c("char big[1<<30]={'\\n'};\nint main(void){return big[0];}"));
        assert.equal(result.reason, 'CompileError');
      });

      it('should end with CompileError when a macro expands a billion times', async () => {
        const source = `
#define A x x x x x x x x x x
#define B A A A A A A A A A A
#define C B B B B B B B B B B
#define D C C C C C C C C C C
#define E D D D D D D D D D D
#define F E E E E E E E E E E
#define G F F F F F F F F F F
#define H G G G G G G G G G G
#define I H H H H H H H H H H
I`;
        const result = await run(c(source));
        assert.equal(result.reason, 'CompileError');
      });

      it('should end with CompileError when the source includes /dev/random', async () => {
        const result = await run(c('#include </dev/random>\nint main(void){}'));
        assert.equal(result.reason, 'CompileError');
      });

      it('should end with CompileError when the source includes itself twice', async () => {
        const result = await run(c('#include __FILE__\n#include __FILE__\nint main(void){}'));
        assert.equal(result.reason, 'CompileError');
      });
    });

    describe('what the compiler and the program can read', () => {
      for (const [spelling, source] of [
        ['#include', '#include </etc/passwd>'],
        ['%:include', '%:include </etc/passwd>'],
        ['__asm__ .incbin', '__asm__(".section .rodata\\n.incbin \\"/etc/passwd\\"\\n");\nint main(void){return 0;}'],
      ] as const) {
        it(`should show only the sandbox's own /etc/passwd when the source uses ${spelling}`, async () => {
          const result = await run(c(source));
          const everything = `${result.compile?.output ?? ''}${result.stdout}${result.stderr}`;
          assert.doesNotMatch(everything, /daemon:|\/bin\/bash/);
        });
      }

      it("should show only the sandbox's own /etc/passwd when a program reads it", async () => {
        const result = await run(python('print(open("/etc/passwd").read())'));
        assert.equal(result.reason, 'Completed');
        assert.match(result.stdout, /^sandbox:/m);
        assert.doesNotMatch(result.stdout, /daemon:/);
      });

      it('should have no service account token when a program looks for one', async () => {
        const result = await run({
          runtime: 'bash',
          source: 'cat /var/run/secrets/kubernetes.io/serviceaccount/token',
        });
        assert.equal(result.reason, 'NonZeroExit');
        assert.match(result.stderr, /No such file or directory/);
      });

      it("should list only the run's own processes when a program reads /proc", async () => {
        const result = await run(
          python('import os\nprint(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))'),
        );
        const pids = JSON.parse(result.stdout) as number[];
        assert.ok(pids.length <= 3, `saw processes ${pids}`);
        assert.ok(pids.includes(1), 'the program should be pid 1 of its own namespace');
      });

      it("should show none of the host's load, pressure, disks or boot line when a program reads /proc", async () => {
        const files = ['/proc/loadavg', '/proc/pressure/cpu', '/proc/pressure/memory', '/proc/pressure/io'];
        files.push('/proc/vmstat', '/proc/diskstats', '/proc/swaps', '/proc/interrupts', '/proc/cmdline');
        const result = await run({
          runtime: 'bash',
          source: `for file in ${files.join(' ')}; do printf '%s=' "$file"; head -c 300 "$file" 2>/dev/null | tr '\\n' ' '; echo; done`,
        });
        const seen = new Map(
          result.stdout
            .trim()
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim()]),
        );
        assert.equal(seen.size, files.length, result.stdout);
        // runc masks them (empty); gVisor has its own /proc: no such files, an idle load, its own boot line.
        assert.match(seen.get('/proc/loadavg') ?? '', /^$|^0\.00 0\.00 0\.00 /);
        const hostBootLine = (await readFile('/proc/cmdline', 'utf8')).trim();
        assert.notEqual(seen.get('/proc/cmdline'), hostBootLine);
        for (const file of files.filter((name) => !['/proc/loadavg', '/proc/cmdline'].includes(name))) {
          assert.equal(seen.get(file), '', `${file} shows ${seen.get(file)}`);
        }
      });

      it('should pass only the allow-listed environment when a program prints it', async () => {
        process.env.SANDPOD_TEST_SECRET = 'do-not-leak';
        const result = await run({ runtime: 'bash', source: 'env' });
        const names = result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split('=')[0]);
        assert.doesNotMatch(result.stdout, /do-not-leak/);
        for (const name of names)
          assert.ok(['PATH', 'HOME', 'TMPDIR', 'LANG', 'PWD', 'SHLVL', '_'].includes(name ?? ''), name);
      });

      it('should refuse writes outside the scratch space when a program tries the host paths', async () => {
        const source = `
import os
for path in ["/usr/pwned", "/etc/pwned", "/pwned", "/var/tmp/pwned", "/proc/sys/kernel/hostname"]:
    try:
        open(path, "w").write("x")
        print("wrote", path)
    except OSError as error:
        print("refused", path, error.errno)`;
        const result = await run(python(source));
        assert.doesNotMatch(result.stdout, /wrote/);
        assert.equal(result.stdout.match(/refused/g)?.length, 5);
      });
    });

    describe('privileges and kernel surface', () => {
      it('should run as an unprivileged user with no capabilities, no_new_privs and seccomp', async () => {
        const result = await run({
          runtime: 'bash',
          source: 'id -u; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
        });
        assert.equal(result.reason, 'Completed');
        const [uid] = result.stdout.split('\n');
        assert.notEqual(uid, '0');
        assert.match(result.stdout, /CapEff:\s+0000000000000000/);
        assert.match(result.stdout, /CapPrm:\s+0000000000000000/);
        assert.match(result.stdout, /CapBnd:\s+0000000000000000/);
        assert.match(result.stdout, /NoNewPrivs:\s+1/);
        assert.match(result.stdout, /Seccomp:\s+2/);
      });

      it('should refuse namespaces, mounts, keyrings, ptrace, io_uring and odd socket families', async () => {
        const result = await run(c(refusedCallsProgram));
        assert.equal(result.reason, 'Completed', result.compile?.output ?? result.stderr);
        const lines = result.stdout.trim().split('\n');
        assert.equal(lines.length, 17);
        for (const line of lines) {
          const [name, returned, errno] = line.split(' ');
          assert.equal(returned, '-1', `${name} should fail, returned ${returned}`);
          assert.ok(['1', '13', '22', '38', '97'].includes(errno ?? ''), `${name} failed with errno ${errno}`);
        }
      });

      it('should refuse 32-bit system calls when a program uses int 0x80', async () => {
        const source = `
#include <stdio.h>
int main(void) {
  long result;
  __asm__ volatile ("int $0x80" : "=a"(result) : "a"(20) : "memory");
  printf("getpid via int 0x80 returned %ld\\n", result);
  return 0;
}`;
        const result = await run(c(source));
        // Either the kernel refuses the call (a negative errno) or seccomp kills the process.
        if (result.reason === 'Completed') assert.match(result.stdout, /returned -\d+/);
        else assert.equal(result.reason, 'Signaled');
      });

      it('should start the program in a session of its own with no controlling terminal', async () => {
        const source = `
import os
print("leader" if os.getsid(0) == os.getpid() else "member")
try:
    os.open("/dev/tty", os.O_RDWR)
    print("tty")
except OSError as error:
    print("no tty", error.errno)`;
        const result = await run(python(source));
        assert.match(result.stdout, /^leader$/m);
        assert.match(result.stdout, /^no tty/m);
      });
    });

    describe('processes', () => {
      it('should end a Python fork bomb at the pids limit and keep serving later runs', async () => {
        const bomb = await run(
          python('import os\nwhile True:\n    os.fork()', { limits: { pids: 32, wallTimeMs: 5000 } }),
        );
        assert.equal(bomb.phase, 'Failed');
        // The pids limit, not the clock, ended it.
        if (target.countsTasks) assert.match(bomb.message, /hit the limit of 32/);
        const after = await run(python('print("still here")'));
        assert.equal(after.stdout, 'still here\n');
      });

      it('should refuse threads past the pids limit when a C++ program starts a thread bomb', async () => {
        const source = `
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>
int main() {
  std::vector<std::thread> threads;
  try {
    for (int i = 0; i < 10000; i++) threads.emplace_back([] { std::this_thread::sleep_for(std::chrono::seconds(2)); });
  } catch (const std::system_error &error) {
    std::cout << "refused after " << threads.size() << std::endl;
  }
  for (auto &thread : threads) thread.join();
}`;
        const result = await run({ runtime: 'cpp', source, limits: { pids: 16, wallTimeMs: 10_000 } });
        if (!target.countsTasks) {
          // Bounded by memory, time and the host's task headroom instead: the run ends, and later runs
          // start. Which end comes first depends on the host's load: the bomb completes, hits memory
          // or time, the program's own runtime gives up on a thread it cannot start (NonZeroExit), or
          // gVisor's sentry cannot start a host thread and the sandbox dies (google/gvisor#2490),
          // which reads as SystemError. None of them may touch the next run.
          assert.ok(
            ['Completed', 'NonZeroExit', 'MemoryLimitExceeded', 'TimeLimitExceeded', 'SystemError'].includes(
              result.reason ?? '',
            ),
            `${result.reason}: ${result.message}`,
          );
          assert.equal((await run(python('print("still here")'))).stdout, 'still here\n');
          return;
        }
        assert.match(result.stdout, /refused after (\d+)/, `${result.reason}: ${result.message}`);
        const started = Number(/refused after (\d+)/.exec(result.stdout)?.[1]);
        assert.ok(started < 16, `started ${started} threads`);
      });

      it('should stop a JVM program that starts 1000 threads at the pids limit, saying why', async () => {
        const source = `
public class Main {
    public static void main(String[] args) throws Exception {
        for (int i = 0; i < 1000; i++) {
            Thread thread = new Thread(() -> {
                try { Thread.sleep(30_000); } catch (InterruptedException e) { }
            });
            thread.setDaemon(true);
            thread.start();
        }
        System.out.println("started 1000 threads");
    }
}`;
        const result = await run({ runtime: 'java', source, limits: { pids: 64, wallTimeMs: 30_000 } });
        const shown = JSON.stringify({ ...result, stderr: result.stderr.slice(0, 600) });
        if (!target.countsTasks) {
          // gVisor does not count the threads (see countsTasks): the run ends by one of its limits
          // or completes, and the next run starts.
          assert.ok(
            ['Completed', 'NonZeroExit', 'MemoryLimitExceeded', 'TimeLimitExceeded', 'SystemError'].includes(
              result.reason ?? '',
            ),
            shown,
          );
          assert.equal((await run(python('print("still here")'))).stdout, 'still here\n');
          return;
        }
        assert.equal(result.reason, 'NonZeroExit', shown);
        assert.doesNotMatch(result.stdout, /started 1000/);
        // The JVM's own words name the limit it met, and so does the verdict.
        assert.match(result.stderr, /unable to create native thread/, shown);
        assert.match(result.message, /creating processes or threads hit the limit of 64/, shown);
      });

      it('should refuse a real-time scheduling policy while letting a thread keep the ordinary one', async () => {
        const source = `
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
int main(void) {
  struct sched_param ordinary = {0}, realtime = {50};
  printf("other %d\\n", pthread_setschedparam(pthread_self(), SCHED_OTHER, &ordinary));
  printf("fifo %d\\n", pthread_setschedparam(pthread_self(), SCHED_FIFO, &realtime));
  return 0;
}`;
        const result = await run(c(source));
        assert.equal(result.reason, 'Completed', result.stderr);
        assert.match(result.stdout, /^other 0\n/);
        assert.doesNotMatch(result.stdout, /fifo 0\n/, 'a sandboxed program must not get SCHED_FIFO');
      });
    });

    describe('disk', () => {
      it('should fail the write at the disk cap when a program writes a huge file', async () => {
        const source = 'open("beans.txt", "w").write("I love beans\\n" * 2**24)';
        // The string itself takes 218 MB of memory before any byte is written.
        const result = await run(python(source, { limits: { diskMiB: 16, memoryMiB: 512 } }));
        assert.equal(result.reason, 'NonZeroExit');
        assert.match(result.stderr, /No space left on device|File too large/);
      });

      it('should stop a program creating files forever at the inode or size cap', async () => {
        const source = `
import os
count = 0
try:
    while True:
        open(f"f{count}", "w").close()
        count += 1
except OSError as error:
    print(count, error.errno)`;
        const result = await run(python(source, { limits: { diskMiB: 4 } }));
        if (!target.mountsScratch) {
          // No inode cap to hit: the CPU or wall limit ends it (the next case sees the files gone).
          assert.equal(result.reason, 'TimeLimitExceeded', JSON.stringify(result));
          return;
        }
        assert.equal(result.reason, 'Completed');
        const [count, errno] = result.stdout.trim().split(' ');
        assert.equal(errno, '28');
        assert.ok(Number(count) < 100_000);
      });

      it('should start every run with empty scratch space when an earlier run left files', async () => {
        await run({
          runtime: 'bash',
          source: 'touch /tmp/left /work/left /dev/shm/left; cp /usr/bin/id /tmp/idcopy; chmod u+s /tmp/idcopy',
        });
        const result = await run({
          runtime: 'bash',
          source:
            'ls -A /tmp /dev/shm; ls -A /work; grep -E " /(tmp|work) " /proc/self/mounts; grep NoNewPrivs /proc/self/status',
        });
        assert.doesNotMatch(result.stdout, /left|idcopy/);
        assert.match(result.stdout, /NoNewPrivs:\s+1/);
        const scratchMounts = result.stdout.split('\n').filter((entry) => / \/(tmp|work) /.test(entry));
        assert.ok(scratchMounts.length > 0, result.stdout);
        if (target.mountsScratch) for (const line of scratchMounts) assert.match(line, /nosuid/);
      });

      it('should fail fast with EMFILE when a program opens 5000 files', async () => {
        const source = `
import os
handles = []
try:
    for _ in range(5000):
        handles.append(open("/dev/null"))
except OSError as error:
    print(len(handles), error.errno)`;
        const result = await run(python(source));
        const [opened, errno] = result.stdout.trim().split(' ');
        assert.equal(errno, '24');
        assert.ok(Number(opened) < 1000, `opened ${opened}`);
      });
    });

    describe('output', () => {
      it('should cap output and kill `yes` with OutputLimitExceeded', async () => {
        const result = await run({ runtime: 'bash', source: 'yes', limits: { outputBytes: 10_000 } });
        assert.equal(result.reason, 'OutputLimitExceeded');
        assert.equal(result.truncated, true);
        assert.equal(result.stdout.length, 10_000);
      });

      it('should cap stderr too when a program writes 1 GiB there with no newline', async () => {
        const source = 'import sys\nchunk = "e" * 65536\nfor _ in range(16384):\n    sys.stderr.write(chunk)';
        const result = await run(python(source, { limits: { outputBytes: 50_000 } }));
        assert.equal(result.reason, 'OutputLimitExceeded');
        assert.equal(result.stderr.length + result.stdout.length, 50_000);
      });

      it('should end a fast flood at the output cap, not at the clock, when it writes megabytes at once', async () => {
        // Cut by the sandbox as it happens: a cap enforced only after the run (or by a slower
        // watcher) would let this flood run into its wall time instead.
        const source = 'import os\nchunk = b"f" * 65536\nwhile True:\n    os.write(2, chunk)';
        const result = await run(python(source, { limits: { outputBytes: 4_000_000, wallTimeMs: 3000 } }));
        assert.equal(result.reason, 'OutputLimitExceeded', result.message);
        assert.equal(result.truncated, true);
      });

      it('should count stdout and stderr together against one cap', async () => {
        const source = 'import sys\nwhile True:\n    sys.stdout.write("o" * 1000)\n    sys.stderr.write("e" * 1000)';
        const result = await run(python(source, { limits: { outputBytes: 20_000 } }));
        assert.equal(result.reason, 'OutputLimitExceeded');
        assert.equal(result.stdout.length + result.stderr.length, 20_000);
      });
    });

    describe('network', () => {
      // Proved without sending anything off this machine: the sandbox's interfaces and routes, and
      // a listener of this test on the host's loopback, which the program must not reach.
      let hostListener: Server;
      let hostPort: number;
      before(async () => {
        hostListener = createServer((connection) => connection.end('host\n'));
        await new Promise<void>((resolve) => hostListener.listen(0, '127.0.0.1', resolve));
        hostPort = (hostListener.address() as AddressInfo).port;
      });
      after(async () => {
        await new Promise((resolve) => hostListener.close(resolve));
      });

      it("should refuse at once a connection to a service on the host's loopback", async () => {
        const source = `
import socket
try:
    connection = socket.create_connection(("127.0.0.1", ${hostPort}), timeout=3)
    print("connected", connection.recv(16))
except Exception as error:
    print("failed", type(error).__name__)`;
        const result = await run(python(source));
        assert.match(result.stdout, /^failed ConnectionRefusedError$/m, result.stdout + result.stderr);
      });

      it('should see no network interface but loopback when a program lists them', async () => {
        const result = await run({ runtime: 'bash', source: 'cat /proc/net/dev' });
        const interfaces = result.stdout
          .split('\n')
          .slice(2)
          .filter(Boolean)
          .map((line) => line.split(':')[0]?.trim());
        assert.deepEqual(interfaces, ['lo']);
      });

      it('should have no route off the machine when a program reads its routing table', async () => {
        // The kernel's main table: a default route, or one to any network, would be listed here.
        const result = await run({ runtime: 'bash', source: 'cat /proc/net/route' });
        assert.equal(result.reason, 'Completed', result.stderr);
        const routes = result.stdout
          .split('\n')
          .slice(1)
          .filter(Boolean)
          .map((line) => line.split(/\s+/)[0]);
        assert.deepEqual(
          routes.filter((device) => device !== 'lo'),
          [],
          result.stdout,
        );
      });
    });

    describe('stdin', () => {
      it('should give EOF when a program reads input forever from empty stdin', async () => {
        const result = await run(python('while True:\n    input()'));
        assert.equal(result.reason, 'NonZeroExit');
        assert.match(result.stderr, /EOFError/);
      });

      it('should deliver stdin to the program when the request has it', async () => {
        const result = await run(python('print(sum(int(x) for x in input().split()))', { stdin: '1 2 3\n' }));
        assert.equal(result.stdout, '6\n');
      });
    });

    describe('concurrency', () => {
      it('should give every run its own result when many run at once', async () => {
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, index) =>
            run(python(`import time\ntime.sleep(${(index % 3) * 0.1})\nprint(${index})`)),
          ),
        );
        results.forEach((result, index) => {
          assert.equal(result.reason, 'Completed');
          assert.equal(result.stdout, `${index}\n`);
        });
      });
    });
  });
}
