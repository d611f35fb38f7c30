import type { ExecutionResult, Phase, Stream } from '../../contract/index.js';
import type { ExecutionEvent } from '../backend.js';

// What an execution has said so far, in order: status changes and output. Followers replay it
// from the start and then wait for more. Output is kept once, as the text of each stream (bounded
// by the execution's output cap); the ordered entries only point into it, and consecutive chunks
// of one stream share an entry, so a program writing a byte at a time costs no object per byte.

type Entry =
  | { type: 'status'; phase: Phase }
  /** Characters `start` to `end` of the stream's text. */
  | { type: 'output'; stream: Stream; start: number; end: number };

export class Journal {
  private readonly entries: Entry[] = [];
  private result: ExecutionResult | undefined;
  private wake: (() => void)[] = [];
  readonly text: Record<Stream, string> = { stdout: '', stderr: '' };

  status(phase: Phase): void {
    this.entries.push({ type: 'status', phase });
    this.notify();
  }

  output(stream: Stream, data: string): void {
    if (data === '') return;
    const start = this.text[stream].length;
    this.text[stream] += data;
    const end = this.text[stream].length;
    const last = this.entries.at(-1);
    if (last?.type === 'output' && last.stream === stream) last.end = end;
    else this.entries.push({ type: 'output', stream, start, end });
    this.notify();
  }

  finish(result: ExecutionResult): void {
    this.result = result;
    this.notify();
  }

  get finished(): ExecutionResult | undefined {
    return this.result;
  }

  /** Everything so far, then live events, then one `exit`. */
  async *follow(signal: AbortSignal): AsyncGenerator<ExecutionEvent> {
    let index = 0;
    // Position in the stream's text up to which the entry at `index` was yielded: the last entry
    // may still grow.
    let offset = 0;
    for (;;) {
      while (index < this.entries.length) {
        const entry = this.entries[index] as Entry;
        if (entry.type === 'status') {
          yield entry;
        } else {
          if (offset < entry.start) offset = entry.start;
          if (entry.end > offset) {
            // Advanced before yielding: the entry may grow while a slow follower holds us suspended.
            const data = this.text[entry.stream].slice(offset, entry.end);
            offset = entry.end;
            yield { type: 'output', stream: entry.stream, data };
            continue;
          }
          if (index === this.entries.length - 1) break;
        }
        index++;
        offset = 0;
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
