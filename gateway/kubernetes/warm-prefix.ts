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
 * Holds back the bytes of the run's stdout that may be the launcher's last report (from the last
 * record separator on) until the next bytes or the end tell. A program's own bytes that merely
 * look like one are dropped too, and arrive with the final status (follow.ts sends what status
 * holds beyond what the log brought).
 */
export class EndFrameHold {
  private tail: Buffer = Buffer.alloc(0);

  /** The bytes that can go on now. */
  push(chunk: Buffer): Buffer {
    const pending = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const separator = pending.lastIndexOf(RECORD_SEPARATOR);
    const keep = separator >= 0 && pending.length - separator <= MAX_HELD_TAIL ? separator : pending.length;
    this.tail = pending.subarray(keep);
    return pending.subarray(0, keep);
  }

  /** At the end of stdout: what was held, unless it is a report frame. */
  end(): Buffer {
    const tail = this.tail;
    this.tail = Buffer.alloc(0);
    if (tail.length === 0) return tail;
    const frame = tail[0] === RECORD_SEPARATOR ? END_FRAME.exec(tail.subarray(1).toString('latin1')) : null;
    return frame && Number(frame[1]) === frame[2]?.length ? Buffer.alloc(0) : tail;
  }
}

/**
 * Holds back a log's bytes until its leading frames end, then hands on the rest, positions
 * rebased; a tail that is the launcher's last report is dropped (EndFrameHold).
 */
export async function* withoutWarmPrefix<T extends PositionedChunk>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  let head: Buffer | undefined = Buffer.alloc(0);
  const hold = new EndFrameHold();
  let handedOn = 0;
  let last: T | undefined;
  for await (const item of chunks) {
    last = item;
    let chunk = item.chunk;
    if (head !== undefined) {
      head = Buffer.concat([head, chunk]);
      const log = parseWarmLog(head);
      if (!log.runStarted) continue;
      chunk = head.subarray(log.prefixLength);
      head = undefined;
    }
    const ready = hold.push(chunk);
    if (ready.length > 0) {
      yield { ...item, chunk: ready, position: handedOn };
      handedOn += ready.length;
    }
  }
  const rest = hold.end();
  if (last && rest.length > 0) yield { ...last, chunk: rest, position: handedOn };
}

/** The launcher's frame right before the run starts (sandbox/launcher/warm-log.ts). */
const RUN_START = Buffer.from('\x1eSP c s 0\n\n', 'latin1');
/** The most bytes held while looking for the run's start: the compile step's frames come first. */
const MAX_HEAD_BYTES = 4 * 1024 * 1024;

/**
 * A warm pod's stdout as an attach gets it: from whenever it joined, so perhaps mid-frame. The
 * run's own output starts after the first RUN_START frame (frames before it carry base64 payloads,
 * which never hold a record separator, so nothing before can pass for it); `sawRunStart` says
 * whether this attach saw that frame, and so every byte of the run.
 */
export class WarmAttachStdout {
  private head: Buffer | undefined = Buffer.alloc(0);
  private readonly hold = new EndFrameHold();
  private started = false;

  get sawRunStart(): boolean {
    return this.started;
  }

  push(chunk: Buffer): Buffer {
    if (this.head !== undefined) {
      const head = Buffer.concat([this.head, chunk]);
      const at = head.indexOf(RUN_START);
      if (at < 0) {
        // Joined after the run started (or a flood of compile frames): the log tells the output.
        this.head = head.length > MAX_HEAD_BYTES ? undefined : head;
        return Buffer.alloc(0);
      }
      this.head = undefined;
      this.started = true;
      return this.hold.push(head.subarray(at + RUN_START.length));
    }
    return this.started ? this.hold.push(chunk) : Buffer.alloc(0);
  }

  end(): Buffer {
    return this.started ? this.hold.end() : Buffer.alloc(0);
  }
}
