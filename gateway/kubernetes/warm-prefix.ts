import { parseWarmLog } from '../../sandbox/launcher/warm-log.js';

// A warm pod's stdout log starts with the launcher's frames (sandbox/launcher/warm-log.ts): that
// the bundle arrived, the compile step's output and report. It ends with the launcher's last
// report, framed under a label the gateway does not know. A follower shows only what comes between,
// the run's own output, at positions counted from its start as in a cold pod's log.

export interface PositionedChunk {
  chunk: Buffer;
  position: number;
}

/** Bytes from the last record separator on are held back, up to this many, in case they end the log. */
const MAX_HELD_TAIL = 16 * 1024;
/** A frame's header and payload, after its record separator. */
const END_FRAME = /^SP [A-Za-z0-9]+ r (\d+)\n([A-Za-z0-9+/=]*)\n$/;
const RECORD_SEPARATOR = 0x1e;

/**
 * Holds back a log's bytes until its leading frames end, then hands on the rest, positions
 * rebased; a tail that is the launcher's last report is dropped. A program's own bytes that merely
 * look like one are dropped too, and arrive with the final status (follow.ts sends what status
 * holds beyond what the log brought).
 */
export async function* withoutWarmPrefix<T extends PositionedChunk>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  let head: Buffer | undefined = Buffer.alloc(0);
  let prefixLength = 0;
  let tail = Buffer.alloc(0);
  let tailPosition = 0;
  let last: T | undefined;
  for await (const item of chunks) {
    last = item;
    let chunk = item.chunk;
    let position = item.position - prefixLength;
    if (head !== undefined) {
      head = Buffer.concat([head, chunk]);
      const log = parseWarmLog(head);
      if (!log.runStarted) continue;
      prefixLength = log.prefixLength;
      chunk = head.subarray(prefixLength);
      position = 0;
      head = undefined;
    }
    const pending = Buffer.concat([tail, chunk]);
    const start = tail.length > 0 ? tailPosition : position;
    const separator = pending.lastIndexOf(RECORD_SEPARATOR);
    const keep = separator >= 0 && pending.length - separator <= MAX_HELD_TAIL ? separator : pending.length;
    if (keep > 0) yield { ...item, chunk: pending.subarray(0, keep), position: start };
    tail = pending.subarray(keep);
    tailPosition = start + keep;
  }
  if (last && tail.length > 0) {
    const frame = tail[0] === RECORD_SEPARATOR ? END_FRAME.exec(tail.subarray(1).toString('latin1')) : null;
    if (!(frame && Number(frame[1]) === frame[2]?.length)) yield { ...last, chunk: tail, position: tailPosition };
  }
}
