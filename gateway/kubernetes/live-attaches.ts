import type { ExecutionObject } from '../../contract/objects.js';
import { finished, LiveAttach, type LiveAttachContext, stdinClosed } from './live-attach.js';
import type { ExecutionRef } from './names.js';
import type { OutputWindow } from './output-window.js';
import { isFinished } from './result.js';

// The attaches this replica holds, one per interactive execution at most: opened when it creates
// one (gated, output kept for its followers) or when input comes for one created elsewhere. Once
// the program's stdin was ended (an end record, or the close of a stdinOnce container's stdin)
// nothing more can reach it.

/** Executions whose stdin this replica closed are remembered up to this many, oldest dropped first. */
const REMEMBERED_ENDS = 10_000;

const keyOf = (ref: ExecutionRef) => `${ref.namespace}/${ref.name}`;

export class LiveAttaches {
  private readonly attaches = new Map<string, LiveAttach>();
  private readonly ended = new Set<string>();

  constructor(private readonly ctx: LiveAttachContext) {}

  /** Attaches to an execution this replica is creating; `originMs` is when it began, on ctx.nowMs's clock. */
  gate(ref: ExecutionRef, originMs: number): void {
    if (!this.attaches.has(keyOf(ref))) this.open(ref, { gate: true, originMs });
  }

  /** The whole live output of an execution this replica gated, while it holds its attach. */
  output(ref: ExecutionRef): OutputWindow | undefined {
    return this.attaches.get(keyOf(ref))?.output;
  }

  async stdin(ref: ExecutionRef, execution: ExecutionObject, data: string | null): Promise<void> {
    const key = keyOf(ref);
    if (isFinished(execution)) throw finished();
    if (this.ended.has(key)) throw stdinClosed();
    const attach = this.attaches.get(key) ?? this.open(ref, { gate: false, originMs: 0 });
    await attach.send(data);
  }

  /**
   * Takes input another replica may have left pending for an unfinished execution: attaches to
   * it unless this replica holds its attach already (then that one takes it again).
   */
  resume(ref: ExecutionRef, execution: ExecutionObject): void {
    const key = keyOf(ref);
    if (isFinished(execution) || this.ended.has(key)) return;
    const attach = this.attaches.get(key);
    if (attach) attach.resume();
    else this.open(ref, { gate: false, originMs: 0 });
  }

  close(): void {
    for (const attach of this.attaches.values()) attach.close();
    this.attaches.clear();
  }

  private open(ref: ExecutionRef, options: { gate: boolean; originMs: number }): LiveAttach {
    const key = keyOf(ref);
    const created: LiveAttach = new LiveAttach(this.ctx, ref, options, () => {
      if (this.attaches.get(key) !== created) return;
      this.attaches.delete(key);
      if (created.stdinClosed) this.remember(key);
    });
    this.attaches.set(key, created);
    return created;
  }

  private remember(key: string): void {
    this.ended.add(key);
    if (this.ended.size > REMEMBERED_ENDS) {
      const oldest = this.ended.values().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
  }
}
