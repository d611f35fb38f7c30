import { StringDecoder } from 'node:string_decoder';
import { STATUS_BOUNDS } from '../../contract/crd.js';
import type { Stream } from '../../contract/index.js';

// What a follower has sent of an execution's output while reading the pod's log: bytes taken per
// stream (so a log opened again skips what was sent), the shared output cap of stdout and stderr,
// and the head of each stream, so that at the end only what status holds beyond it is sent.

export class LiveOutput {
  /** Bytes of each stream read from the log, sent or not; a reopened log skips this many. */
  readonly readBytes: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private keptBytes = 0;
  private reachedCap = false;
  private readonly decoders: Record<Stream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };
  private readonly sentChars: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private readonly head: Record<Stream, string> = { stdout: '', stderr: '' };

  constructor(
    /** outputBytes of the execution: stdout and stderr together. */
    private readonly capBytes: number,
    /** Characters of each stream status can hold; the head kept to compare with it. */
    private readonly headChars: number = STATUS_BOUNDS.outputChars,
  ) {}

  /** True once the cap was reached: nothing more is sent and the logs need not be read on. */
  get capped(): boolean {
    return this.reachedCap;
  }

  /**
   * Takes bytes read from the log at `position` (bytes of this stream before them in the log) and
   * returns the text to send: empty for bytes sent before, and nothing past the cap.
   */
  take(stream: Stream, chunk: Buffer, position: number): string {
    const fresh = unseenPart(chunk, position, this.readBytes[stream]);
    if (fresh.length === 0 || this.reachedCap) return '';
    this.readBytes[stream] += fresh.length;
    const room = this.capBytes - this.keptBytes;
    const kept = fresh.length <= room ? fresh : fresh.subarray(0, room);
    if (kept.length < fresh.length) this.reachedCap = true;
    this.keptBytes += kept.length;
    const text = this.decoders[stream].write(kept) + (this.reachedCap ? this.decoders[stream].end() : '');
    this.record(stream, text);
    return text;
  }

  /** What a decoder still holds when its log ended inside a character. */
  flush(stream: Stream): string {
    const text = this.decoders[stream].end();
    this.record(stream, text);
    return text;
  }

  /**
   * The part of the stream's final text (from status) not sent yet: the whole of it when nothing
   * was sent, its tail when what was sent is its head, else nothing (the two disagree, and what
   * was sent cannot be taken back).
   */
  remainder(stream: Stream, finalText: string): string {
    const sent = this.sentChars[stream];
    if (sent >= finalText.length || this.reachedCap) return '';
    if (!finalText.startsWith(this.head[stream])) return '';
    const rest = finalText.slice(sent);
    this.record(stream, rest);
    return rest;
  }

  private record(stream: Stream, text: string): void {
    if (text === '') return;
    this.sentChars[stream] += text.length;
    if (this.head[stream].length < this.headChars) {
      this.head[stream] = (this.head[stream] + text).slice(0, this.headChars);
    }
  }
}

/** The bytes of a chunk at `position` in a log that lie past the first `alreadyRead` bytes. */
export function unseenPart(chunk: Buffer, position: number, alreadyRead: number): Buffer {
  const skip = alreadyRead - position;
  if (skip <= 0) return chunk;
  return skip >= chunk.length ? chunk.subarray(chunk.length) : chunk.subarray(skip);
}
