import assert from 'node:assert/strict';
import type { ExecutionResult } from '../../contract/index.js';
import { timeScale } from '../helpers/time-scale.js';

// The judging part of the gateway contract (usage, expected output, tests), run by
// contract-suite.ts inside its describe against each backend. Time limits, and bounds on how long
// a run may take, are scaled by timeScale for emulation (helpers/time-scale.ts).

export interface JudgingContext {
  /** Posts with ?wait=true and answers the final result (asserting a 200). */
  run(body: Record<string, unknown>): Promise<ExecutionResult>;
  post(body: unknown): Promise<{ status: number; body: unknown }>;
}

const C_SPIN_ONE_SECOND = `#include <time.h>
#include <stdio.h>
int main(void) { while (clock() < CLOCKS_PER_SEC) {} puts("spun"); return 0; }
`;
/** Writes a byte into every page of 100 MiB; volatile, so the compiler keeps every write. */
const C_TOUCH_100_MIB = `#include <stdlib.h>
#include <stdio.h>
int main(void) {
  size_t n = 100u << 20;
  volatile char *p = malloc(n);
  if (!p) return 2;
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  printf("%d\\n", p[n - 4096]);
  return 0;
}
`;
const C_SLEEP_ONE_SECOND = `#include <unistd.h>
int main(void) { sleep(1); return 0; }
`;
/**
 * Doubles the number it reads; a negative number makes it spin forever; it leaves a file in
 * /work and says "dirty" when it finds one there from an earlier run.
 */
const C_DOUBLER = `#include <stdio.h>
int main(void) {
  FILE *mark = fopen("mark", "r");
  if (mark) { puts("dirty"); return 0; }
  mark = fopen("mark", "w");
  if (!mark) { puts("cannot write /work"); return 3; }
  fclose(mark);
  long n = 0;
  if (scanf("%ld", &n) != 1) return 4;
  if (n < 0) for (;;) {}
  printf("%ld\\r\\n", n * 2);
  return 0;
}
`;

export function judgingContract(context: JudgingContext): void {
  describe('usage', () => {
    it('should report about one second of CPU when a C program spins for one second', async function () {
      // A shared machine may give the spinner its second slowly; the wall limit leaves it room.
      this.timeout(150_000 * timeScale);
      const result = await context.run({
        runtime: 'c',
        source: C_SPIN_ONE_SECOND,
        limits: { wallTimeMs: 100_000 * timeScale },
      });

      assert.equal(result.reason, 'Completed', JSON.stringify(result));
      assert.ok(result.usage, 'usage is reported');
      assert.ok(
        result.usage.cpuTimeMs >= 900 && result.usage.cpuTimeMs < 2500 * timeScale,
        JSON.stringify(result.usage),
      );
      assert.ok(result.usage.wallTimeMs >= 900, JSON.stringify(result.usage));
      assert.ok(result.compile?.usage, 'the compile step has its own usage');
      assert.ok(result.compile.usage.cpuTimeMs > 0, JSON.stringify(result.compile.usage));
      assert.ok(result.compile.usage.memoryPeakMiB > 0, JSON.stringify(result.compile.usage));
    });

    it('should report a memory peak of at least 100 MiB when a program touches 100 MiB', async () => {
      const result = await context.run({ runtime: 'c', source: C_TOUCH_100_MIB });

      assert.equal(result.reason, 'Completed', JSON.stringify(result));
      assert.ok(result.usage && result.usage.memoryPeakMiB >= 100, JSON.stringify(result.usage));
      assert.ok(result.usage.memoryPeakMiB < 256, JSON.stringify(result.usage));
    });

    it('should report a second of wall time and little CPU when a program sleeps for a second', async () => {
      const result = await context.run({ runtime: 'c', source: C_SLEEP_ONE_SECOND });

      assert.equal(result.reason, 'Completed', JSON.stringify(result));
      assert.ok(result.usage, 'usage is reported');
      assert.ok(
        result.usage.wallTimeMs >= 1000 && result.usage.wallTimeMs < 5000 * timeScale,
        JSON.stringify(result.usage),
      );
      assert.ok(result.usage.cpuTimeMs < 300 * timeScale, JSON.stringify(result.usage));
    });
  });

  describe('expected output', () => {
    it('should answer Accepted when the output matches apart from trailing whitespace', async () => {
      const result = await context.run({ runtime: 'python', source: 'print("42  ")\n', expectedOutput: '42\r\n' });

      assert.equal(result.phase, 'Succeeded', JSON.stringify(result));
      assert.equal(result.reason, 'Accepted');
    });

    it('should answer WrongAnswer naming the difference when the output differs', async () => {
      const result = await context.run({ runtime: 'python', source: 'print(41)\n', expectedOutput: '42\n' });

      assert.equal(result.phase, 'Failed');
      assert.equal(result.reason, 'WrongAnswer');
      assert.equal(result.exitCode, 0);
      assert.match(result.message, /expected "42", got "41"/);
    });

    it('should keep the limit as the reason when a program exceeds it before writing the answer', async () => {
      const result = await context.run({
        runtime: 'python',
        source: 'while True:\n    pass\n',
        expectedOutput: '',
        limits: { wallTimeMs: 1000 * timeScale, cpuTimeMs: 1000 * timeScale },
      });

      assert.equal(result.reason, 'TimeLimitExceeded', JSON.stringify(result));
    });
  });

  describe('tests', () => {
    it('should run every test on a fresh copy of the compiled program when one exceeds its time limit', async () => {
      const result = await context.run({
        runtime: 'c',
        source: C_DOUBLER,
        limits: { wallTimeMs: 3000 * timeScale, cpuTimeMs: 500 * timeScale },
        tests: [
          { name: 'small', stdin: '2\n', expectedOutput: '4\n' },
          { name: 'spins', stdin: '-1\n', expectedOutput: '0\n' },
          { stdin: '21', expectedOutput: '42' },
          { name: 'wrong', stdin: '1\n', expectedOutput: '3\n' },
          { name: 'unjudged', stdin: '5\n' },
        ],
      });

      assert.equal(result.phase, 'Failed', JSON.stringify(result));
      assert.equal(result.reason, 'TimeLimitExceeded');
      const tests = result.tests ?? [];
      assert.deepEqual(
        tests.map((test) => [test.name, test.reason]),
        [
          ['small', 'Accepted'],
          ['spins', 'TimeLimitExceeded'],
          ['test 3', 'Accepted'],
          ['wrong', 'WrongAnswer'],
          ['unjudged', 'Completed'],
        ],
      );
      assert.equal(tests[0]?.stdout, '4\r\n');
      assert.equal(tests[3]?.exitCode, 0);
      assert.match(tests[3]?.message ?? '', /expected "3", got "2"/);
      for (const test of tests) {
        assert.ok(test.usage, `${test.name} has usage`);
        assert.equal(test.truncated, false);
      }
      // Whichever limit came first on a busy machine, the usage shows it was reached.
      const spun = tests[1]?.usage;
      assert.ok(
        spun && (spun.cpuTimeMs >= 500 * timeScale || spun.wallTimeMs >= 3000 * timeScale),
        JSON.stringify(spun),
      );
      assert.deepEqual(result.summary, { passed: 3, failed: 2, skipped: 0, total: 5 });
      assert.ok(result.compile, 'compiled once');
      assert.match(result.message, /spins/);
    });

    it('should skip the tests after the first failure when stopOnFirstFailure is set', async () => {
      const result = await context.run({
        runtime: 'python',
        source: 'print(int(input()) + 1)\n',
        stopOnFirstFailure: true,
        compare: { mode: 'tokens' },
        tests: [
          { stdin: '1', expectedOutput: '2' },
          { stdin: '2', expectedOutput: '4' },
          { stdin: '3', expectedOutput: '4' },
        ],
      });

      assert.equal(result.reason, 'WrongAnswer', JSON.stringify(result));
      assert.deepEqual(
        result.tests?.map((test) => test.reason),
        ['Accepted', 'WrongAnswer', 'Skipped'],
      );
      assert.equal(result.tests?.[2]?.usage, null);
      assert.deepEqual(result.summary, { passed: 1, failed: 1, skipped: 1, total: 3 });
    });

    it('should not run the tests after one that exits with an error when stopOnFirstFailure is set', async () => {
      // A test that ran has its usage; one that never ran has none and says so (on Kubernetes the
      // launcher stops the round, as embedded mode does, since the failure is not a wrong answer).
      const result = await context.run({
        runtime: 'python',
        source: 'import sys\nn = int(input())\nif n < 0:\n    sys.exit(3)\nprint(n + 1)\n',
        stopOnFirstFailure: true,
        tests: [
          { stdin: '1', expectedOutput: '2' },
          { name: 'fails', stdin: '-1', expectedOutput: '0' },
          { name: 'after', stdin: '5', expectedOutput: '6' },
        ],
      });

      assert.equal(result.reason, 'NonZeroExit', JSON.stringify(result));
      assert.deepEqual(
        result.tests?.map((test) => test.reason),
        ['Accepted', 'NonZeroExit', 'Skipped'],
      );
      assert.equal(result.tests?.[1]?.exitCode, 3);
      assert.equal(result.tests?.[2]?.usage, null);
      assert.equal(result.tests?.[2]?.message, 'not run: an earlier test did not pass (stopOnFirstFailure)');
      assert.deepEqual(result.summary, { passed: 1, failed: 1, skipped: 1, total: 3 });
    });

    it('should answer Accepted when every test passes with float comparison and per-test args', async () => {
      const result = await context.run({
        runtime: 'python',
        source: 'import sys\nprint(float(sys.argv[1]) / 3)\n',
        compare: { mode: 'float', epsilon: 1e-3 },
        tests: [
          { args: ['1'], expectedOutput: '0.3333' },
          { args: ['2'], expectedOutput: '0.6667' },
        ],
      });

      assert.equal(result.phase, 'Succeeded', JSON.stringify(result));
      assert.equal(result.reason, 'Accepted');
      assert.deepEqual(result.summary, { passed: 2, failed: 0, skipped: 0, total: 2 });
    });

    const refused: [string, Record<string, unknown>, string][] = [
      ['top-level stdin', { stdin: '1' }, 'stdin'],
      ['a top-level expectedOutput', { expectedOutput: '1' }, 'expectedOutput'],
      ['interactive', { interactive: true }, 'interactive'],
    ];
    for (const [what, extra, field] of refused) {
      it(`should answer 400 naming ${field} when tests come with ${what}`, async () => {
        const response = await context.post({ runtime: 'python', source: 'print(1)', tests: [{}], ...extra });

        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal((response.body as { error: { field: string } }).error.field, field);
      });
    }
  });
}
