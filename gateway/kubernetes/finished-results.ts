import type { ExecutionResult } from '../../contract/index.js';

// Results of finished Executions, kept so that reading one again costs no API request: the watch
// cache holds Executions without their output, and a finished Execution never changes again (but
// to be deleted). Bounded by the bytes of output it holds; the least recently read go first.

interface Entry {
  /** The version the result was read at: a different one in the watch means it changed. */
  resourceVersion: string;
  result: ExecutionResult;
  bytes: number;
}

export class FinishedResults {
  private readonly entries = new Map<string, Entry>();
  private heldBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The result kept for this key at this version, if any. */
  get(key: string, resourceVersion: string | undefined): ExecutionResult | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.resourceVersion !== resourceVersion) {
      this.drop(key, entry);
      return undefined;
    }
    // Read again: it moves to the back of the line for eviction.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.result;
  }

  set(key: string, resourceVersion: string | undefined, result: ExecutionResult): void {
    if (resourceVersion === undefined) return;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    const bytes = resultBytes(result);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { resourceVersion, result, bytes });
    this.heldBytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.heldBytes <= this.maxBytes) break;
      this.drop(oldest, entry);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
  }

  get bytes(): number {
    return this.heldBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
  }
}

/** What a result holds in memory, roughly: its output as UTF-16 and a little for the rest. */
function resultBytes(result: ExecutionResult): number {
  return (
    2 * (result.stdout.length + result.stderr.length + (result.compile?.output.length ?? 0) + result.message.length) +
    512
  );
}
