import type { ExecutionResult, Phase, Stream } from '../../contract/index.js';
import type { ExecutionEvent } from '../backend.js';

// What an execution has said so far, in order: status changes and output. Followers replay it
// from the start and then wait for more. Output is bounded by the execution's output cap, and
// consecutive chunks of one stream are merged, so a program writing a byte at a time does not
// turn into a million small objects.

type Entry = { type: 'status'; phase: Phase } | { type: 'output'; stream: Stream; data: string };

const MERGE_UP_TO_CHARS = 64 * 1024;

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
    this.text[stream] += data;
    const last = this.entries.at(-1);
    if (last?.type === 'output' && last.stream === stream && last.data.length < MERGE_UP_TO_CHARS) {
      last.data += data;
    } else {
      this.entries.push({ type: 'output', stream, data });
    }
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
    // Characters of the entry at `index` already yielded: the last entry may still grow.
    let offset = 0;
    for (;;) {
      while (index < this.entries.length) {
        const entry = this.entries[index] as Entry;
        if (entry.type === 'status') {
          yield entry;
        } else {
          if (entry.data.length > offset) {
            // Advanced before yielding: the entry may grow while a slow follower holds us suspended.
            const data = entry.data.slice(offset);
            offset += data.length;
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
