import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { z } from 'zod';
import type { ExecutionResult, RuntimeInfo } from '../../contract/index.js';
import type { CatalogRuntime } from '../../contract/runtime-catalog.js';
import { readCatalog } from '../../runtimes/catalog.js';
import { api } from '../helpers/gateway.js';
import { timeScale } from '../helpers/time-scale.js';

// Every runtime of runtimes/catalog.yaml, run through a gateway's REST API from the samples in
// test/runtimes/samples/<runtime>/: hello.<ext> prints "hello, world", product.<ext> prints the
// product of two integers on stdin, runtime-error.<ext> ends with a runtime error (NonZeroExit with
// the exit code of expect.yaml's runtimeErrorExitCode, 1 unless it says), and, for a compiled
// language, compile-error.<ext> ends with CompileError and the compiler's message (matching
// expect.yaml's compileErrorPattern when it names one), and, where a language's version matters
// (a toolchain newer than Debian's), version.<ext> prints "hello, world" by a feature that older
// versions lack, so that it fails on those. Limits are left out, so each runtime runs
// under its own defaults: a language that needs more pids or memory than those fails here.

export const SAMPLES_DIR = fileURLToPath(new URL('samples/', import.meta.url));

const expectSchema = z.strictObject({
  runtimeErrorExitCode: z.int().min(1).max(255).default(1),
  compileErrorPattern: z.string().optional(),
});

export interface LanguageSamples {
  hello: string;
  product: string;
  runtimeError: string;
  compileError?: string;
  version?: string;
  runtimeErrorExitCode: number;
  compileErrorPattern?: RegExp;
}

/** The samples of one runtime; throws naming what is missing. */
export function readSamples(runtime: CatalogRuntime): LanguageSamples {
  const dir = path.join(SAMPLES_DIR, runtime.name);
  if (!existsSync(dir)) throw new Error(`no samples for runtime ${runtime.name}: add ${dir}`);
  const files = readdirSync(dir);
  const sample = (stem: string): string | undefined => {
    const file = files.find((name) => name.startsWith(`${stem}.`) && name !== 'expect.yaml');
    return file === undefined ? undefined : readFileSync(path.join(dir, file), 'utf8');
  };
  const required = (stem: string): string => {
    const text = sample(stem);
    if (text === undefined) throw new Error(`runtime ${runtime.name} has no ${stem}.<ext> in ${dir}`);
    return text;
  };
  const expectPath = path.join(dir, 'expect.yaml');
  const expected = expectSchema.parse(existsSync(expectPath) ? yaml.load(readFileSync(expectPath, 'utf8')) : {});
  const compiled = runtime.compile !== undefined;
  const version = sample('version');
  return {
    hello: required('hello'),
    product: required('product'),
    runtimeError: required('runtime-error'),
    ...(compiled ? { compileError: required('compile-error') } : {}),
    ...(version === undefined ? {} : { version }),
    runtimeErrorExitCode: expected.runtimeErrorExitCode,
    ...(expected.compileErrorPattern ? { compileErrorPattern: new RegExp(expected.compileErrorPattern) } : {}),
  };
}

/** Whether the runtime's samples include version.<ext> (decided as the suite is declared). */
function hasVersionSample(runtime: CatalogRuntime): boolean {
  const dir = path.join(SAMPLES_DIR, runtime.name);
  return existsSync(dir) && readdirSync(dir).some((name) => name.startsWith('version.'));
}

export interface LanguageTarget {
  /** The gateway's base URL; requests go as the loopback tenant `default`. */
  url: string;
  close(): Promise<void>;
}

/** A result in a failure message: the fields that say why, long output cut. */
const shown = (result: ExecutionResult) =>
  JSON.stringify({
    reason: result.reason,
    message: result.message,
    exitCode: result.exitCode,
    stdout: result.stdout.slice(0, 300),
    stderr: result.stderr.slice(0, 1500),
    compile: result.compile && { ...result.compile, output: result.compile.output.slice(0, 1500) },
    usage: result.usage,
  });

async function run(url: string, body: Record<string, unknown>): Promise<ExecutionResult> {
  const answer = await api(`${url}/api/v1/executions?wait=true`, undefined, { body });
  if (answer.status !== 200 && answer.status !== 201) {
    throw new Error(`POST /api/v1/executions answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  const result = answer.body as ExecutionResult;
  if (result.phase !== 'Succeeded' && result.phase !== 'Failed') {
    throw new Error(`the execution did not end: ${JSON.stringify(result)}`);
  }
  return result;
}

/**
 * The suite: a describe per catalog runtime (SANDPOD_TEST_LANGUAGES, comma-separated, narrows it to
 * some). A runtime the gateway does not list fails every test: `make test` installs every toolchain.
 */
export function languageSuite(title: string, setup: () => Promise<LanguageTarget>): void {
  const wanted = (process.env.SANDPOD_TEST_LANGUAGES ?? '').split(',').filter((name) => name !== '');
  const runtimes = readCatalog().runtimes.filter((runtime) => wanted.length === 0 || wanted.includes(runtime.name));

  describe(title, function () {
    // A JVM compiler under gVisor on a busy machine takes tens of seconds.
    this.timeout(180_000 * timeScale);
    let target: LanguageTarget | undefined;
    let listed: RuntimeInfo[] = [];

    before(async function () {
      this.timeout(300_000);
      target = await setup();
      listed = (await api(`${target.url}/api/v1/runtimes`, undefined)).body as RuntimeInfo[];
    });
    after(async () => {
      await target?.close();
    });

    it('should have samples for every catalog runtime and no samples of a runtime the catalog lacks', () => {
      const all = readCatalog().runtimes.map((runtime) => runtime.name);
      const dirs = readdirSync(SAMPLES_DIR).filter((name) => !name.startsWith('.'));
      assert.deepEqual(
        dirs.filter((dir) => !all.includes(dir)),
        [],
        'sample directories without a catalog runtime',
      );
      for (const runtime of readCatalog().runtimes) readSamples(runtime);
    });

    for (const runtime of runtimes) {
      describe(runtime.name, () => {
        let samples: LanguageSamples;
        const url = () => target?.url ?? '';

        before(() => {
          samples = readSamples(runtime);
          const info = listed.find((entry) => entry.name === runtime.name);
          // Not a skip: a machine that ran `make test` (scripts/install-deps.sh) has every toolchain.
          if (!info) {
            throw new Error(
              `the gateway does not list runtime ${runtime.name}: its toolchain is missing (scripts/install-deps.sh installs it)`,
            );
          }
        });

        it('should print hello, world', async () => {
          const result = await run(url(), { runtime: runtime.name, source: samples.hello });
          assert.equal(result.reason, 'Completed', shown(result));
          assert.equal(result.stdout, 'hello, world\n', shown(result));
        });

        it('should print the product of two integers read from stdin', async () => {
          const result = await run(url(), { runtime: runtime.name, source: samples.product, stdin: '6 7\n' });
          assert.equal(result.reason, 'Completed', shown(result));
          assert.equal(result.stdout, '42\n', shown(result));
          const large = await run(url(), { runtime: runtime.name, source: samples.product, stdin: '123456 654321\n' });
          assert.equal(large.stdout, '80779853376\n', shown(large));
        });

        it('should end with NonZeroExit and the exit code of a runtime error', async () => {
          const result = await run(url(), { runtime: runtime.name, source: samples.runtimeError });
          assert.equal(result.reason, 'NonZeroExit', shown(result));
          assert.equal(result.exitCode, samples.runtimeErrorExitCode, shown(result));
          assert.ok(result.stderr.length > 0 || result.stdout.length > 0, `nothing said why: ${shown(result)}`);
        });

        if (hasVersionSample(runtime)) {
          it(`should run a program that needs version ${runtime.version.declared}`, async () => {
            const result = await run(url(), { runtime: runtime.name, source: samples.version });
            assert.equal(result.reason, 'Completed', shown(result));
            assert.equal(result.stdout, 'hello, world\n', shown(result));
          });
        }

        if (runtime.compile) {
          it("should end with CompileError and the compiler's message", async () => {
            const result = await run(url(), { runtime: runtime.name, source: samples.compileError });
            assert.equal(result.reason, 'CompileError', shown(result));
            // The compiler ended by itself, not at a limit.
            assert.match(result.message, /^the compiler exited with code \d+$/, shown(result));
            assert.ok(result.compile && result.compile.output.length > 0, shown(result));
            if (samples.compileErrorPattern) assert.match(result.compile.output, samples.compileErrorPattern);
          });
        }
      });
    }
  });
}
