import type { ExecutionObject } from '../../contract/objects.js';
import type { ObjectWatch } from '../../kube/watched-objects.js';
import type { ExecutionRef } from './names.js';
import { isFinished } from './result.js';

// The versions of one Execution the watch delivers, from the moment of subscribing: nothing that
// arrives between reading an Execution and waiting for its next version is lost. Only the latest
// version is kept while nobody asks, since each version is the whole truth of that moment.

/** A new version of the Execution, or `deleted`. */
export type Change = { execution: ExecutionObject } | { deleted: true };

export class ExecutionChanges {
  private latest: Change | undefined;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(watched: ObjectWatch<ExecutionObject>, ref: ExecutionRef) {
    this.unsubscribe = watched.subscribe(ref.namespace, ref.name, (execution) => {
      this.latest = execution ? { execution } : { deleted: true };
      this.wake?.();
    });
  }

  /**
   * The next version, or undefined when `signal` aborts, `timeoutMs` passes first, or after close.
   * Ends (closes itself) after a finished or deleted version: nothing follows those.
   */
  async next(signal: AbortSignal, timeoutMs?: number): Promise<Change | undefined> {
    if (this.latest === undefined && !this.closed && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
        signal.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    const change = this.latest;
    this.latest = undefined;
    if (change && ('deleted' in change || isFinished(change.execution))) this.close();
    return change;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.wake?.();
  }
}
