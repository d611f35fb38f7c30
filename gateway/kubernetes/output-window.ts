import type { Stream } from '../../contract/index.js';

// What an execution's attach delivered, kept for the followers on this replica: pieces in the
// order they came, each at its byte position in its own stream. The oldest are dropped past a
// byte budget, so a follower that stops reading costs this replica at most that budget: when it
// comes back to a piece already dropped, it goes on from the pod's log, which skips the bytes it
// was given (live-output.ts), and the program is never slowed down by a slow client.

/** Bytes of one stream as the attach gave them, `position` bytes into that stream. */
export interface Piece {
  stream: Stream;
  chunk: Buffer;
  position: number;
}

/**
 * How a window ends: `complete` when it holds every byte the program wrote (the attach saw the
 * program from its start to its end), `partial` when the log must tell the rest.
 */
export type WindowEnd = 'complete' | 'partial';

/** What is at an index: a piece, nothing yet, a piece dropped, or the end. */
export type Slot = Piece | { pending: true } | { dropped: true } | { end: WindowEnd };

export class OutputWindow {
  private readonly pieces: Piece[] = [];
  /** Index of pieces[0] since the start. */
  private firstIndex = 0;
  private heldBytes = 0;
  private readonly written: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private ending: WindowEnd | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly budgetBytes: number) {}

  get ended(): WindowEnd | undefined {
    return this.ending;
  }

  add(stream: Stream, chunk: Buffer): void {
    if (this.ending || chunk.length === 0) return;
    this.pieces.push({ stream, chunk, position: this.written[stream] });
    this.written[stream] += chunk.length;
    this.heldBytes += chunk.length;
    // The newest piece stays even when it alone is over the budget: a reader at the end needs it.
    while (this.heldBytes > this.budgetBytes && this.pieces.length > 1) {
      const dropped = this.pieces.shift() as Piece;
      this.heldBytes -= dropped.chunk.length;
      this.firstIndex += 1;
    }
    this.wake();
  }

  /** Nothing more comes; readers past the last piece see `end`. The first call decides how. */
  end(how: WindowEnd): void {
    if (this.ending) return;
    this.ending = how;
    this.wake();
  }

  at(index: number): Slot {
    if (index < this.firstIndex) return { dropped: true };
    const piece = this.pieces[index - this.firstIndex];
    if (piece) return piece;
    return this.ending ? { end: this.ending } : { pending: true };
  }

  /** Resolves at the next piece or end, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      if (signal.aborted) return resolve();
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * The pieces from the first, as they come. Returns `complete` after the last piece of a window
   * that saw everything; `partial` when it did not, when the reader fell behind what is kept, or
   * when `signal` aborted: the caller then reads the log from where these pieces stopped.
   */
  async *read(signal: AbortSignal): AsyncGenerator<Piece, WindowEnd> {
    for (let index = 0; ; ) {
      const slot = this.at(index);
      if ('chunk' in slot) {
        yield slot;
        index += 1;
      } else if ('pending' in slot) {
        if (signal.aborted) return 'partial';
        await this.changed(signal);
      } else if ('dropped' in slot) {
        return 'partial';
      } else {
        return slot.end;
      }
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
