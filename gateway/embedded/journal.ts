import type { ExecutionResult, Phase, Stream } from '../../contract/index.js';
import type { ExecutionEvent } from '../backend.js';

// What an execution has said so far, in order: status changes and output. Followers replay it
// from the start and then wait for more. Output is kept once, as the text of each stream (bounded
// by the execution's output cap); the ordered entries only mark where each stream had got to, and
// consecutive chunks of one stream share an entry, so a program writing a byte at a time costs no
// object per byte. A program switching between stdout and stderr at every byte would still cost
// an entry per switch, so the entries are capped too: past the cap the order between the two
// streams is kept only as finely as followers read (each catch-up sends what each stream has).

/** Entries one journal keeps; a few kilobytes, however the program interleaves its streams. */
export const MAX_JOURNAL_ENTRIES = 1024;

type Entry =
  | { type: 'status'; phase: Phase }
  /** The stream's text up to character `end` was written by the time of this entry. */
  | { type: 'output'; stream: Stream; end: number };

export class Journal {
  private readonly entries: Entry[] = [];
  private result: ExecutionResult | undefined;
  private wake: (() => void)[] = [];
  readonly text: Record<Stream, string> = { stdout: '', stderr: '' };
  /** How far each stream's entries reach. */
  private readonly recorded: Record<Stream, number> = { stdout: 0, stderr: 0 };

  constructor(private readonly maxEntries = MAX_JOURNAL_ENTRIES) {}

  get entryCount(): number {
    return this.entries.length;
  }

  status(phase: Phase): void {
    // Output written past the entry cap comes before this status for every follower.
    for (const stream of ['stdout', 'stderr'] as const) this.mark(stream, true);
    this.entries.push({ type: 'status', phase });
    this.notify();
  }

  output(stream: Stream, data: string): void {
    if (data === '') return;
    this.text[stream] += data;
    this.mark(stream, false);
    this.notify();
  }

  finish(result: ExecutionResult): void {
    this.result = result;
    this.notify();
  }

  get finished(): ExecutionResult | undefined {
    return this.result;
  }

  /** Records how far `stream` has got: in the last entry when it is the stream's, else in a new one. */
  private mark(stream: Stream, beforeStatus: boolean): void {
    const end = this.text[stream].length;
    const last = this.entries.at(-1);
    if (last?.type === 'output' && last.stream === stream) {
      last.end = end;
    } else {
      if (this.recorded[stream] === end) return;
      // Status entries are a handful per execution; only output switches are capped.
      if (!beforeStatus && this.entries.length >= this.maxEntries) return;
      this.entries.push({ type: 'output', stream, end });
    }
    this.recorded[stream] = end;
  }

  /** Everything so far, then live events, then one `exit`. */
  async *follow(signal: AbortSignal): AsyncGenerator<ExecutionEvent> {
    let index = 0;
    const sent: Record<Stream, number> = { stdout: 0, stderr: 0 };
    // Advanced before yielding: the text may grow while a slow follower holds us suspended.
    const take = (stream: Stream, end: number): ExecutionEvent | undefined => {
      if (end <= sent[stream]) return undefined;
      const data = this.text[stream].slice(sent[stream], end);
      sent[stream] = end;
      return { type: 'output', stream, data };
    };
    for (;;) {
      while (index < this.entries.length) {
        const entry = this.entries[index++] as Entry;
        if (entry.type === 'status') {
          yield entry;
          continue;
        }
        const event = take(entry.stream, entry.end);
        if (event) yield event;
      }
      // Caught up with the entries: what the streams hold beyond them (the last entry growing, or
      // output past the entry cap) goes now, and the entries are looked at again.
      const rest = take('stdout', this.text.stdout.length) ?? take('stderr', this.text.stderr.length);
      if (rest) {
        yield rest;
        continue;
      }
      // Caught up with everything recorded; nothing is awaited between here and the check.
      if (this.result) {
        yield { type: 'exit', result: this.result };
        return;
      }
      if (signal.aborted) return;
      await this.next(signal);
    }
  }

  private next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.wake.push(done);
    });
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }
}
