import type { Parameters } from 'fast-check';

// Fuzz runs are reproducible: one fixed seed by default, so `make test` is the same run every
// time, and `make fuzz` (FUZZ_RUNS, FUZZ_SEED) runs longer or elsewhere. A failure prints the seed
// and the path of the shrunk counterexample; FUZZ_SEED and FUZZ_PATH replay it.

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261206);
/** Multiplies every property's number of runs: 1 in `make test`, more in `make fuzz`. */
export const FUZZ_SCALE = Number(process.env.FUZZ_SCALE ?? 1);

export function fuzzParameters<T>(runs: number): Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(runs * FUZZ_SCALE)),
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    endOnFailure: true,
  };
}

/** Counts what a suite saw, printed at its end for the figures in RELIABILITY.md. */
export class FuzzTally {
  readonly #counts = new Map<string, number>();

  add(key: string, by = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + by);
  }

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  print(title: string): void {
    const entries = [...this.#counts].sort(([a], [b]) => a.localeCompare(b));
    process.stdout.write(
      `      ${title} (seed ${FUZZ_SEED}, scale ${FUZZ_SCALE}): ${entries.map(([key, count]) => `${key} ${count}`).join(', ')}\n`,
    );
  }
}

/** Records unhandled rejections and uncaught exceptions while a suite runs; none is allowed. */
export function watchProcessFailures(): { failures: string[]; stop(): void } {
  const failures: string[] = [];
  const onRejection = (reason: unknown) => failures.push(`unhandled rejection: ${String(reason)}`);
  const onException = (error: Error) => failures.push(`uncaught exception: ${error.stack ?? error.message}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    failures,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
