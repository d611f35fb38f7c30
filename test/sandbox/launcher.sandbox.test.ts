import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { encodeBundle, encodeLiveStdin } from '../../sandbox/launcher/bundle.js';
import { parseTestFrames } from '../../sandbox/launcher/frames.js';
import { type LaunchReport, launcherExitCode, launchReport } from '../../sandbox/launcher/report.js';
import { parseWarmLog, splitEndFrame } from '../../sandbox/launcher/warm-log.js';
import { compileProgram } from '../helpers/gcc.js';

// sandpod-launch (sandbox/launcher), compiled with the host's gcc and run as the init of a PID
// namespace of its own (`unshare --pid --fork --mount-proc`, so root), as it runs in every pod.
// Real programs, real pipes, real /proc; what it reports is read back by the operator's parser.
// Each run gets a cgroup of its own whose CPU counter it is given (--cpu-cgroup), as a pod's
// container has: the machine's root cgroup would count every other process too.

/** Where a new cgroup with a CPU counter goes: cgroup v2's one tree, or v1's cpuacct hierarchy. */
const CGROUP_PARENT = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpuacct';

/** Forks spinners of 5 ms, one after another, whose parent ignores SIGCHLD. */
const SHORT_SPINNERS = `#include <signal.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    if (fork() == 0) { long long end = now_ns() + 5000000; while (now_ns() < end) {} _exit(0); }
    usleep(5500);
  }
}
`;

interface Launched {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  report: LaunchReport;
}

describe('sandpod-launch (needs root and gcc)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'sandpod-launch-test-'));
  const binary = join(dir, 'sandpod-launch');
  let runs = 0;

  before(() => compileProgram('sandbox/launcher/sandpod-launch.c', binary, ['-static']));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** `feed`, when given, gets the launcher's stdin (a pipe); otherwise stdin is closed. */
  function launch(
    options: string[],
    argv: string[],
    env: Record<string, string> = {},
    cwd = dir,
    feed?: (stdin: Writable) => void,
  ): Promise<Launched> {
    runs += 1;
    const reportPath = join(dir, `report-${runs}.json`);
    const cgroup = join(CGROUP_PARENT, `sandpod-launch-test-${process.pid}-${runs}`);
    mkdirSync(cgroup);
    // The shell moves itself into the cgroup before it becomes unshare, so nothing runs outside it.
    const inCgroup = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
    const command = ['unshare', '--pid', '--fork', '--mount-proc', binary, '--cpu-cgroup', cgroup, ...options];
    const child = spawn('sh', ['-c', inCgroup, cgroup, ...command, '--report', reportPath, '--', ...argv], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: [feed ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      cwd,
    });
    if (feed && child.stdin) feed(child.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('latin1');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('latin1');
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => {
        rmdirSync(cgroup);
        const message = readFileSync(reportPath, 'utf8');
        const report = launchReport({ exitCode: exitCode ?? -1, message });
        if (!report) return reject(new Error(`no report that matches exit code ${exitCode}: ${message} ${stderr}`));
        resolve({ stdout, stderr, exitCode, report });
      });
    });
  }

  it('should pass the exit code through and report a clean exit when the program ends by itself', async () => {
    const result = await launch(
      ['--wall-ms', '5000', '--cpu-ms', '5000'],
      ['sh', '-c', 'echo out; echo err >&2; exit 3'],
    );
    assert.equal(result.exitCode, 3);
    assert.equal(result.stdout, 'out\n');
    assert.equal(result.stderr, 'err\n');
    assert.equal(result.report.limit, null);
    assert.equal(result.report.exitCode, 3);
    assert.equal(result.report.outputBytes, 8);
  });

  it('should end a sleeping program at the wall limit counted from its own start', async () => {
    const result = await launch(['--wall-ms', '300'], ['sleep', '30']);
    assert.equal(result.report.limit, 'wall');
    assert.equal(result.exitCode, 137);
    assert.ok(result.report.durationMs >= 300, `ended after ${result.report.durationMs} ms`);
  });

  it('should add up the CPU time of every child when the work is spread over processes', async () => {
    const burner = 'for i in 1 2 3 4; do (while :; do :; done) & done; wait';
    const result = await launch(['--cpu-ms', '1000', '--wall-ms', '30000'], ['sh', '-c', burner]);
    assert.equal(result.report.limit, 'cpu');
    assert.ok(result.report.cpuMs >= 1000, `stopped at ${result.report.cpuMs} ms`);
    // A figure, not an assertion: how far past the limit the step got before it was killed.
    process.stdout.write(
      `      CPU limit 1000 ms, 4 busy children: stopped at ${result.report.cpuMs} ms of CPU time\n`,
    );
  });

  it('should report the largest resident set of the step when a child touches 100 MiB', async () => {
    const toucher = 'b = bytearray(100 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1';
    const result = await launch(['--wall-ms', '20000'], ['sh', '-c', `python3 -c '${toucher}'; echo done`]);
    assert.equal(result.stdout, 'done\n');
    assert.ok((result.report.memoryPeakKiB ?? 0) >= 100 * 1024, `peak ${result.report.memoryPeakKiB} KiB`);
    const small = await launch([], ['true']);
    assert.ok((small.report.memoryPeakKiB ?? 0) < 20 * 1024, `peak ${small.report.memoryPeakKiB} KiB`);
  });

  it('should count the CPU of children reaped by nobody when their parent ignores SIGCHLD', async () => {
    // Each spinner lives less than one look at /proc and is reaped by the kernel at once, so its
    // time reaches no cutime: only the cgroup's counter still holds it.
    const spinners = join(dir, 'spinners');
    writeFileSync(`${spinners}.c`, SHORT_SPINNERS);
    execFileSync('gcc', ['-O2', '-o', spinners, `${spinners}.c`]);
    const result = await launch(['--cpu-ms', '1000', '--wall-ms', '15000'], [spinners]);
    assert.equal(result.report.limit, 'cpu', `ended by ${result.report.limit} after ${result.report.durationMs} ms`);
    assert.ok(result.report.cpuMs >= 1000 && result.report.cpuMs < 2000, `stopped at ${result.report.cpuMs} ms`);
    process.stdout.write(
      `      CPU limit 1000 ms, short spinners of a parent ignoring SIGCHLD: stopped at ${result.report.cpuMs} ms of CPU time after ${result.report.durationMs} ms\n`,
    );
  });

  it('should stop a program whose memory grows past --sandbox-memory-bytes, counted from its start', async () => {
    // On the host /proc/meminfo is the machine's, as inside gVisor it is the sandbox's: the count
    // starts from what was in use before the program, so only the program's growth is measured.
    const hog = 'blocks = []\nwhile True:\n    blocks.append(b"x" * (8 << 20))';
    const limit = 64 * 1024 * 1024;
    const result = await launch(
      ['--sandbox-memory-bytes', String(limit), '--wall-ms', '20000'],
      ['python3', '-c', hog],
    );
    assert.equal(result.report.limit, 'memory');
    assert.equal(result.exitCode, 137);
    const small = await launch(['--sandbox-memory-bytes', String(4 * limit)], ['sh', '-c', 'echo small']);
    assert.equal(small.report.limit, null);
    assert.equal(small.stdout, 'small\n');
  });

  it('should cut output at exactly the cap over stdout and stderr together, then kill the program', async () => {
    const result = await launch(['--output-bytes', '20000'], ['sh', '-c', 'yes o & yes e >&2']);
    assert.equal(result.report.limit, 'output');
    assert.equal(result.stdout.length + result.stderr.length, 20_000);
    assert.equal(result.report.outputBytes, 20_000);
  });

  it('should accept output of exactly the cap as within it', async () => {
    const result = await launch(['--output-bytes', '6'], ['printf', 'abcdef']);
    assert.equal(result.report.limit, null);
    assert.equal(result.stdout, 'abcdef');
  });

  it('should pass only the named variables to the program', async () => {
    const result = await launch(['--env', 'PATH', '--env', 'HOME', '--env', 'LANG'], ['env'], {
      HOME: '/tmp',
      KUBERNETES_SERVICE_HOST: '203.0.113.1',
      SECRET: 'do-not-leak',
    });
    const names = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0]);
    assert.deepEqual(names.sort(), ['HOME', 'PATH']);
  });

  it('should start the program as the leader of a session of its own', async () => {
    const result = await launch([], ['sh', '-c', 'ps -o sid= -p $$; echo $$']);
    const [sid, pid] = result.stdout.trim().split(/\s+/);
    assert.equal(sid, pid);
  });

  it('should read stdin from the named file and give EOF after it', async () => {
    const input = join(dir, 'stdin');
    writeFileSync(input, '1 2 3\n');
    const result = await launch(['--stdin', input], ['sh', '-c', 'cat; cat; echo end']);
    assert.equal(result.stdout, '1 2 3\nend\n');
  });

  it('should start the program only once the gate byte came, and keep that byte from it', async () => {
    let gateSentAtMs = 0;
    const result = await launch(['--gate-ms', '60000'], ['sh', '-c', 'date +%s%3N; cat'], {}, dir, (stdin) => {
      // Nothing tells the test that the launcher waits; a while later it must still be waiting.
      setTimeout(() => {
        gateSentAtMs = Date.now();
        stdin.end(Buffer.from('\0typed'));
      }, 300);
    });
    const [startedAtMs, typed] = result.stdout.split('\n');
    assert.ok(Number(startedAtMs) >= gateSentAtMs, `started at ${startedAtMs}, gate sent at ${gateSentAtMs}`);
    assert.equal(typed, 'typed');
    assert.equal(result.report.exitCode, 0);
  });

  it('should hand the program its first byte when input came instead of the gate', async () => {
    // A gateway whose container started late no longer gates, and types at once: while the
    // launcher still waits, the first byte of that input is the program's, not a gate.
    const result = await launch(['--gate-ms', '60000'], ['sh', '-c', 'cat; echo end'], {}, dir, (stdin) => {
      stdin.write('typed\n');
      setTimeout(() => stdin.end('more\n'), 100);
    });
    assert.equal(result.stdout, 'typed\nmore\nend\n');
    assert.equal(result.report.exitCode, 0);
  });

  it('should start the program ungated when no gate came within --gate-ms', async () => {
    let stdin: Writable | undefined;
    const result = await launch(['--gate-ms', '200', '--wall-ms', '5000'], ['echo', 'ran'], {}, dir, (input) => {
      stdin = input;
    });
    stdin?.end();
    assert.equal(result.stdout, 'ran\n');
    assert.equal(result.report.limit, null);
  });

  it('should hold the program until the first live record, and hand it only the data records', async () => {
    let openedAtMs = 0;
    let stdin: Writable | undefined;
    const source = 'date +%s%3N; cat; echo end';
    const result = await launch(['--live-ms', '60000'], ['sh', '-c', source], {}, dir, (input) => {
      stdin = input;
      setTimeout(() => {
        openedAtMs = Date.now();
        input.write(encodeLiveStdin('open'));
        input.write(
          encodeBundle({
            files: [],
            run: { argv: ['x'], limits: { wallTimeMs: 1, cpuTimeMs: 1, outputBytes: 1, pids: 1 } },
          }),
        );
        input.write(encodeLiveStdin(Buffer.from('typed\n')));
        input.write('raw bytes outside any record\n');
        input.write(encodeLiveStdin('end'));
      }, 300);
    });
    // The container's stdin is still open: only the end record ended the program's input.
    assert.equal(stdin?.writableEnded, false);
    stdin?.end();
    const [startedAtMs, ...rest] = result.stdout.split('\n');
    assert.ok(Number(startedAtMs) >= openedAtMs, `started at ${startedAtMs}, opened at ${openedAtMs}`);
    assert.equal(rest.join('\n'), 'typed\nend\n');
    assert.equal(result.report.exitCode, 0);
  });

  it('should start a live program ungated when no record came within --live-ms, and relay the later ones', async () => {
    const result = await launch(
      ['--live-ms', '200', '--wall-ms', '20000'],
      ['sh', '-c', 'echo ran; cat'],
      {},
      dir,
      (input) => {
        setTimeout(() => {
          input.write(encodeLiveStdin('open'));
          input.write(encodeLiveStdin(Buffer.from('late\n')));
          input.end();
        }, 1000);
      },
    );
    // EOF on the container's stdin ends the program's input as an end record would.
    assert.equal(result.stdout, 'ran\nlate\n');
    assert.equal(result.report.limit, null);
  });

  it('should refuse --live-ms beside another stdin', () => {
    const run = spawnSync(binary, ['--live-ms', '200', '--stdin', '/dev/null', '--', 'true'], { encoding: 'utf8' });
    assert.equal(run.status, 125);
    assert.match(run.stderr, /--live-ms is the only stdin of a single run/);
  });

  it('should kill what the program left behind and keep its late output out', async () => {
    const source = 'setsid sh -c "sleep 2; echo late" & echo early';
    const result = await launch(['--wall-ms', '20000'], ['sh', '-c', source]);
    assert.equal(result.report.limit, null);
    assert.equal(result.stdout, 'early\n');
  });

  it('should overwrite a report the program wrote, even one a daemon of it keeps rewriting', async () => {
    const forged = join(dir, `report-${runs + 1}.json`);
    const lie = `echo '{"sandpodLaunch":1,"limit":"wall"}' > ${forged}`;
    // The daemon rewrites the file until it is killed; only a launcher that kills first wins.
    const source = `${lie}; setsid sh -c 'while :; do ${lie.replaceAll("'", "'\\''")}; done' & sleep 0.2; exit 0`;
    const result = await launch([], ['sh', '-c', source]);
    assert.equal(result.report.limit, null);
    assert.equal(result.report.exitCode, 0);
  });

  it('should report a program killed by a signal with its number', async () => {
    const result = await launch([], ['sh', '-c', 'kill -SEGV $$']);
    assert.equal(result.report.signal, 11);
    assert.equal(result.exitCode, 128 + 11);
    assert.equal(launcherExitCode(result.report), 139);
  });

  it('should set the process, file and core limits of the program', async () => {
    const result = await launch(
      ['--pids', '7', '--open-files', '64', '--cpu-ms', '1500'],
      ['sh', '-c', '{ ulimit -p 2>/dev/null || ulimit -u; }; ulimit -n; ulimit -c; ulimit -St'],
    );
    // RLIMIT_NPROC is per user and the launcher is one of the user's processes; RLIMIT_CPU is a
    // per-process backstop a second past the step's limit.
    assert.equal(result.stdout, '8\n64\n0\n3\n');
  });

  it('should copy the source files into the working directory, writable, and leave dot entries', async () => {
    const source = mkdtempSync(join(dir, 'source-'));
    const work = mkdtempSync(join(dir, 'work-'));
    writeFileSync(join(source, 'main.py'), 'print(1)\n');
    mkdirSync(join(source, '..data'));
    const result = await launch(
      ['--copy-from', source],
      ['sh', '-c', 'ls -A && echo x >> main.py && cat main.py'],
      {},
      work,
    );
    assert.equal(result.report.error, null);
    assert.equal(result.stdout, 'main.py\nprint(1)\nx\n');
  });

  it('should start on emptied scratch, so a container started again in its pod finds nothing of the attempt before', async () => {
    const source = mkdtempSync(join(dir, 'source-'));
    const work = mkdtempSync(join(dir, 'work-'));
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    writeFileSync(join(source, 'main.py'), 'print(1)\n');
    // What a first attempt left: its copy of the source (changed by its program), and its files.
    writeFileSync(join(work, 'main.py'), 'changed by the first attempt\n');
    mkdirSync(join(work, 'out'));
    writeFileSync(join(work, 'out', 'partial'), 'x');
    writeFileSync(join(tmp, 'left'), 'x');
    const result = await launch(
      ['--copy-from', source, '--scratch', work, '--scratch', tmp],
      ['sh', '-c', `ls -A && ls -A "${tmp}" && cat main.py`],
      {},
      work,
    );
    assert.equal(result.report.error, null);
    assert.equal(result.stdout, 'main.py\nprint(1)\n');
  });

  it('should run each test on emptied scratch with its own stdin, args and limits when --tests is given', async () => {
    const source = mkdtempSync(join(dir, 'source-'));
    const work = mkdtempSync(join(dir, 'work-'));
    const tests = mkdtempSync(join(dir, 'tests-'));
    writeFileSync(join(source, 'input.txt'), 'given\n');
    mkdirSync(join(tests, '0'));
    writeFileSync(join(tests, '0', 'stdin'), '5\n');
    mkdirSync(join(tests, '2'));
    writeFileSync(join(tests, '2', 'args'), 'spin\0two words\0');
    const program =
      'ls; mkdir -p d; touch d/mark; read n; printf "n=$n args=$*\\r\\n"; echo warn >&2; [ "$1" = spin ] && while :; do :; done; exit 0';
    const result = await launch(
      ['--tests', '3', '--tests-dir', tests, '--scratch', work, '--copy-from', source, '--wall-ms', '1500'],
      ['sh', '-c', program, 'sh'],
      {},
      work,
    );
    const stdout = Buffer.from(result.stdout, 'latin1');
    // A container runtime's log keeps lines and drops the \r of \r\n: the frames have none.
    assert.equal(stdout.includes('\r'), false);
    const { tests: ran, intact } = parseTestFrames(stdout, 3);
    assert.equal(intact, true);
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
    assert.deepEqual(
      ran.map((test) => text(test.stdout)),
      ['input.txt\nn=5 args=\r\n', 'input.txt\nn= args=\r\n', 'input.txt\nn= args=spin two words\r\n'],
    );
    assert.deepEqual(
      ran.map((test) => text(test.stderr)),
      ['warn\n', 'warn\n', 'warn\n'],
    );
    assert.deepEqual(
      ran.map((test) => [test.report?.exitCode, test.report?.limit]),
      [
        [0, null],
        [0, null],
        [null, 'wall'],
      ],
    );
    assert.equal(result.report.limit, null);
    assert.equal(result.report.durationMs >= 1500, true);
    assert.equal(result.exitCode, 0);
  });

  for (const [ending, failing] of [
    ['exits with code 3', 'exit 3'],
    ['exceeds its wall limit', 'while :; do :; done'],
    ['is killed by a signal', 'kill -SEGV $$'],
  ] as const) {
    it(`should run no test after the first that ${ending} when --stop-on-failure 1 is given`, async () => {
      const work = mkdtempSync(join(dir, 'work-'));
      const tests = mkdtempSync(join(dir, 'tests-'));
      for (const [index, input] of ['ok', 'fail', 'ok'].entries()) {
        mkdirSync(join(tests, String(index)));
        writeFileSync(join(tests, String(index), 'stdin'), `${input}\n`);
      }
      // Every test that runs leaves a mark in a directory the scratch emptying does not touch.
      const marks = mkdtempSync(join(dir, 'marks-'));
      const program = `read what; touch "${marks}/ran-$what-$$"; echo "$what"; [ "$what" = fail ] && { ${failing}; }; exit 0`;
      const result = await launch(
        ['--tests', '3', '--tests-dir', tests, '--scratch', work, '--wall-ms', '500', '--stop-on-failure', '1'],
        ['sh', '-c', program],
        {},
        work,
      );

      const { tests: ran, intact } = parseTestFrames(Buffer.from(result.stdout, 'latin1'), 3);
      assert.equal(intact, true);
      assert.deepEqual(
        ran.map((test) => Buffer.from(test.stdout).toString('utf8')),
        ['ok\n', 'fail\n', ''],
      );
      assert.equal(ran[0]?.report?.exitCode, 0);
      assert.ok(ran[1]?.report, 'the failing test has its report');
      assert.equal(ran[2]?.report, undefined, 'the test after the failure has no report: it did not run');
      assert.equal(readdirSync(marks).length, 2, `marks left: ${readdirSync(marks).join(', ')}`);
      assert.equal(result.exitCode, 0);
    });
  }

  it('should run every test after a failure when --stop-on-failure is left out', async () => {
    const work = mkdtempSync(join(dir, 'work-'));
    const tests = mkdtempSync(join(dir, 'tests-'));
    const result = await launch(
      ['--tests', '3', '--tests-dir', tests, '--scratch', work, '--wall-ms', '5000'],
      ['sh', '-c', 'echo ran; exit 3'],
      {},
      work,
    );

    const { tests: ran } = parseTestFrames(Buffer.from(result.stdout, 'latin1'), 3);
    assert.deepEqual(
      ran.map((test) => test.report?.exitCode),
      [3, 3, 3],
    );
  });

  it('should refuse a --stop-on-failure other than 0 or 1', async () => {
    const child = spawn(binary, ['--tests', '1', '--tests-dir', dir, '--stop-on-failure', '2', '--', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(exitCode, 125);
    assert.match(stderr, /--stop-on-failure takes 0 or 1/);
  });

  it('should say why when the program cannot be started', async () => {
    const result = await launch([], ['/no/such/program']);
    assert.equal(result.exitCode, 127);
    assert.match(result.report.error ?? '', /cannot run \/no\/such\/program: No such file or directory/);
  });

  describe('--bundle 1 (a warm pod)', () => {
    const sum =
      '#include <stdio.h>\nint main(void) { int a, b; if (scanf("%d %d", &a, &b) != 2) return 2;\n printf("%d\\n", a + b); fprintf(stderr, "note\\n"); return 3; }\n';
    const limits = { wallTimeMs: 20_000, cpuTimeMs: 20_000, outputBytes: 65_536, pids: 64 };

    /** A work directory of its own for each run: the bundle's files land in the launcher's. */
    function workDir(): string {
      return mkdtempSync(join(dir, 'work-'));
    }

    it('should compile and run the program it reads from stdin, the compile step framed before the run', async () => {
      const bundle = encodeBundle({
        files: [{ name: 'main.c', content: sum }],
        stdin: '2 40\n',
        compile: { argv: ['gcc', '-o', 'main', 'main.c'], limits },
        run: { argv: ['./main'], limits },
      });
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) => stdin.end(bundle));
      const log = parseWarmLog(Buffer.from(result.stdout, 'latin1'));
      assert.equal(log.runStarted, true);
      assert.equal(log.compile?.report?.exitCode, 0);
      assert.equal(Buffer.from(result.stdout, 'latin1').subarray(log.prefixLength).toString(), '42\n');
      assert.equal(result.stderr, 'note\n');
      assert.equal(result.exitCode, 3);
      assert.equal(result.report.exitCode, 3);
    });

    it('should end stdout with the report under the nonce, after all of the output, when given one', async () => {
      const bundle = encodeBundle({
        files: [{ name: 'a.sh', content: 'echo out; echo err >&2; exit 4\n' }],
        run: { argv: ['sh', 'a.sh'], limits },
        nonce: 'n0nce',
      });
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) => stdin.end(bundle));
      const stdout = Buffer.from(result.stdout, 'latin1');
      const run = stdout.subarray(parseWarmLog(stdout).prefixLength);
      const end = splitEndFrame(run, 'n0nce');
      assert.equal(Buffer.from(end.output).toString(), 'out\n');
      assert.deepEqual(end.report, result.report);
      assert.equal(splitEndFrame(run, 'other').report, undefined, 'another nonce is no end');
    });

    it('should end with the compile report and never run when the compile step fails', async () => {
      const bundle = encodeBundle({
        files: [{ name: 'main.c', content: 'int main(void) { return undeclared; }\n' }],
        compile: { argv: ['gcc', '-o', 'main', 'main.c'], limits },
        run: { argv: ['./main'], limits },
      });
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) => stdin.end(bundle));
      const log = parseWarmLog(Buffer.from(result.stdout, 'latin1'));
      assert.equal(log.runStarted, false);
      assert.equal(log.compile?.report?.exitCode, 1);
      assert.match(
        Buffer.from(log.compile?.stdout ?? []).toString() + Buffer.from(log.compile?.stderr ?? []).toString(),
        /undeclared/,
      );
      assert.equal(result.report.exitCode, 1);
    });

    it('should skip a bundle cut short and run the whole one sent after it', async () => {
      const whole = encodeBundle({
        files: [{ name: 'a.sh', content: 'echo second\n' }],
        run: { argv: ['sh', 'a.sh'], limits },
      });
      const first = encodeBundle({
        files: [{ name: 'a.sh', content: 'echo first\n' }],
        run: { argv: ['sh', 'a.sh'], limits },
      });
      // The first attempt broke inside its run record, before G.
      const cut = first.subarray(0, first.indexOf('\x1eR') + 6);
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) =>
        stdin.end(Buffer.concat([cut, whole, whole])),
      );
      const log = parseWarmLog(Buffer.from(result.stdout, 'latin1'));
      assert.equal(Buffer.from(result.stdout, 'latin1').subarray(log.prefixLength).toString(), 'second\n');
      assert.equal(result.report.exitCode, 0);
    });

    it("should hand a live stdin's data records alone to the program and end its stdin at the end record", async () => {
      const bundle = encodeBundle({
        files: [{ name: 'a.sh', content: 'cat; echo done\n' }],
        run: { argv: ['sh', 'a.sh'], limits },
        live: { gateMs: 20_000 },
      });
      // All in one write, so the records come in the same read as the bundle's end; the bundle
      // sent again and a stray record are not input. stdin itself stays open, as a pod's does.
      const input = Buffer.concat([
        bundle,
        encodeLiveStdin('open'),
        encodeLiveStdin(Buffer.from('hello\n')),
        bundle,
        Buffer.from('\x1eX junk\n'),
        encodeLiveStdin(Buffer.from('world\x00\x1e\n')),
        encodeLiveStdin('end'),
      ]);
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) => stdin.write(input));
      const stdout = Buffer.from(result.stdout, 'latin1');
      assert.equal(
        stdout.subarray(parseWarmLog(stdout).prefixLength).toString('latin1'),
        'hello\nworld\x00\x1e\ndone\n',
      );
      assert.equal(result.report.exitCode, 0);
    });

    it('should start the run without its gate once the wait is over, when no record came', async () => {
      const bundle = encodeBundle({
        files: [{ name: 'a.sh', content: 'echo started\n' }],
        run: { argv: ['sh', 'a.sh'], limits },
        live: { gateMs: 100 },
      });
      // stdin stays open and brings nothing after the bundle.
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, workDir(), (stdin) =>
        stdin.write(bundle),
      );
      const stdout = Buffer.from(result.stdout, 'latin1');
      assert.equal(stdout.subarray(parseWarmLog(stdout).prefixLength).toString(), 'started\n');
      assert.equal(result.report.exitCode, 0);
    });

    describe('with tests (records K and T)', () => {
      /** The tests' frames between the launcher's "c s" frame and its end frame under the nonce. */
      function testsOf(result: Launched, count: number) {
        const stdout = Buffer.from(result.stdout, 'latin1');
        const log = parseWarmLog(stdout);
        const end = splitEndFrame(stdout.subarray(log.prefixLength), 'n0nce');
        return { log, end, ...parseTestFrames(end.output, count) };
      }
      const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString('utf8');

      it('should run each test with its stdin and args on emptied scratch and fresh files, the build kept', async () => {
        const work = workDir();
        const tmp = mkdtempSync(join(dir, 'tmp-'));
        const build = mkdtempSync(join(dir, 'build-'));
        // Each test sees the files as sent, leaves marks in both scratch directories, and edits a.sh.
        const program = `ls; ls "${tmp}"; cat "${build}/prog"; read n; echo "n=$n args=$*"; touch mark "${tmp}/mark"; echo changed > a.sh; echo warn >&2`;
        const bundle = encodeBundle({
          files: [{ name: 'a.sh', content: program }],
          // What the compiler leaves beside the sources and in TMPDIR is gone by the first test, as
          // a cold pod's separate compile container leaves nothing there.
          compile: { argv: ['sh', '-c', `echo built > "${build}/prog"; touch leftover "${tmp}/leftover"`], limits },
          run: { argv: ['sh', 'a.sh', 'first'], limits },
          tests: [{ stdin: '5\n' }, { stdin: '7\n', args: ['x', 'two words'] }],
          nonce: 'n0nce',
        });
        const result = await launch(
          ['--bundle', '1', '--env', 'PATH', '--scratch', work, '--scratch', tmp],
          [],
          {},
          work,
          (stdin) => stdin.end(bundle),
        );
        const { log, end, tests: ran, intact } = testsOf(result, 2);
        assert.equal(log.compile?.report?.exitCode, 0);
        assert.equal(log.runStarted, true);
        assert.equal(intact, true);
        assert.deepEqual(
          ran.map((test) => text(test.stdout)),
          ['a.sh\nbuilt\nn=5 args=first\n', 'a.sh\nbuilt\nn=7 args=first x two words\n'],
        );
        assert.deepEqual(
          ran.map((test) => text(test.stderr)),
          ['warn\n', 'warn\n'],
        );
        assert.deepEqual(
          ran.map((test) => test.report?.exitCode),
          [0, 0],
        );
        // The termination report is the tests' sum, and the end frame says the same.
        assert.deepEqual(end.report, result.report);
        const reports = ran.map((test) => test.report as LaunchReport);
        assert.equal(
          result.report.outputBytes,
          reports.reduce((total, report) => total + report.outputBytes, 0),
        );
        assert.equal(
          result.report.durationMs,
          reports.reduce((total, report) => total + report.durationMs, 0),
        );
        assert.equal(result.report.exitCode, 0);
        assert.equal(result.exitCode, 0);
      });

      it('should run no test after the first that failed when told to stop on failure', async () => {
        const work = workDir();
        const bundle = encodeBundle({
          files: [{ name: 'a.sh', content: 'read what; echo "$what"; [ "$what" = fail ] && exit 3; exit 0\n' }],
          run: { argv: ['sh', 'a.sh'], limits },
          tests: [{ stdin: 'ok\n' }, { stdin: 'fail\n' }, { stdin: 'ok\n' }],
          stopOnFailure: true,
          nonce: 'n0nce',
        });
        const result = await launch(['--bundle', '1', '--env', 'PATH', '--scratch', work], [], {}, work, (stdin) =>
          stdin.end(bundle),
        );
        const { end, tests: ran, intact } = testsOf(result, 3);
        assert.equal(intact, true);
        assert.deepEqual(
          ran.map((test) => [text(test.stdout), test.report?.exitCode]),
          [
            ['ok\n', 0],
            ['fail\n', 3],
            ['', undefined],
          ],
        );
        assert.deepEqual(end.report, result.report);
        assert.equal(result.report.exitCode, 0);
      });

      it('should run each test once when the bundle comes again, and wait for a test that is missing', async () => {
        const work = workDir();
        const whole = encodeBundle({
          files: [{ name: 'a.sh', content: 'read n; echo "n=$n"\n' }],
          run: { argv: ['sh', 'a.sh'], limits },
          tests: [{ stdin: '1\n' }, { stdin: '2\n' }],
          nonce: 'n0nce',
        });
        // The first attempt lost test 1 but got to G: no run may start before the bundle is whole.
        const secondTest = whole.indexOf('\x1eT MQ==');
        const lost = Buffer.concat([
          whole.subarray(0, secondTest),
          whole.subarray(whole.indexOf('\n', secondTest) + 1),
        ]);
        const result = await launch(['--bundle', '1', '--env', 'PATH', '--scratch', work], [], {}, work, (stdin) =>
          stdin.end(Buffer.concat([lost, whole, whole])),
        );
        const stdout = Buffer.from(result.stdout, 'latin1');
        const { end, tests: ran, intact } = testsOf(result, 2);
        assert.equal(intact, true);
        assert.deepEqual(
          ran.map((test) => text(test.stdout)),
          ['n=1\n', 'n=2\n'],
        );
        // Exactly two test reports: nothing ran twice.
        const headers = stdout.toString('latin1').split('\x1eSP ');
        assert.equal(headers.filter((header) => /^\d+ r /.test(header)).length, 2);
        assert.ok(end.report);
      });

      it('should take an empty stdin and an empty last argument as given', async () => {
        const work = workDir();
        const bundle = encodeBundle({
          files: [{ name: 'a.sh', content: 'echo "$#:$2."; cat\n' }],
          run: { argv: ['sh', 'a.sh'], limits },
          tests: [{}, { args: ['a', ''] }],
          nonce: 'n0nce',
        });
        const result = await launch(['--bundle', '1', '--env', 'PATH', '--scratch', work], [], {}, work, (stdin) =>
          stdin.write(bundle),
        );
        const { tests: ran } = testsOf(result, 2);
        assert.deepEqual(
          ran.map((test) => text(test.stdout)),
          ['0:.\n', '2:.\n'],
        );
      });
    });

    it('should refuse a file name with a path in it', async () => {
      const outside = encodeBundle({
        files: [{ name: '../x', content: 'no' }],
        run: { argv: ['sh', '-c', 'ls'], limits },
      });
      const cwd = workDir();
      const result = await launch(['--bundle', '1', '--env', 'PATH'], [], {}, cwd, (stdin) => stdin.end(outside));
      assert.equal(existsSync(join(cwd, '..', 'x')), false);
      assert.equal(
        Buffer.from(result.stdout, 'latin1')
          .subarray(parseWarmLog(Buffer.from(result.stdout, 'latin1')).prefixLength)
          .toString(),
        '',
      );
    });
  });
});
