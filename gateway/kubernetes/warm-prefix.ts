import { parseWarmLog } from '../../sandbox/launcher/warm-log.js';

// A warm pod's stdout log starts with the launcher's frames (sandbox/launcher/warm-log.ts): that
// the bundle arrived, the compile step's output and report. A follower shows only what comes after
// them, the run's own output, at positions counted from its start as in a cold pod's log.

export interface PositionedChunk {
  chunk: Buffer;
  position: number;
}

/** Holds back a log's bytes until its frames end, then hands on the rest, positions rebased. */
export async function* withoutWarmPrefix<T extends PositionedChunk>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  let held: Buffer | undefined = Buffer.alloc(0);
  let prefixLength = 0;
  for await (const item of chunks) {
    if (held === undefined) {
      yield { ...item, position: item.position - prefixLength };
      continue;
    }
    held = Buffer.concat([held, item.chunk]);
    const log = parseWarmLog(held);
    if (!log.runStarted) continue;
    prefixLength = log.prefixLength;
    const rest = held.subarray(prefixLength);
    held = undefined;
    if (rest.length > 0) yield { ...item, chunk: rest, position: 0 };
  }
}
