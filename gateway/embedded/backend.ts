import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type winston from 'winston';
import type { ExecutionResult, RuntimeInfo, RuntimeLimits } from '../../contract/index.js';
import type { ExecutionBackend, ExecutionEvent, ExecutionSpec } from '../backend.js';
import { type DeliveryStore, fileDeliveryStore } from '../callbacks/store.js';
import type { Config } from '../config.js';
import { ApiError, atCapacity, invalid, notFound } from '../errors.js';
import { type Catalog, runtimeInfo } from './catalog.js';
import { Execution, type SandboxEnvironment } from './execution.js';

// Executions on this machine: a fixed number run at once, a bounded queue waits behind them in
// arrival order, and finished results stay readable for a while and are then dropped.

export class EmbeddedBackend implements ExecutionBackend {
  readonly deliveryStore: DeliveryStore;

  private readonly executions = new Map<string, Execution>();
  private readonly queue: Execution[] = [];
  private running = 0;
  /** Bytes held by finished results still readable. */
  private retainedBytes = 0;
  /** What each finished result was charged when it was retained (its size never changes after). */
  private readonly retainedSizes = new Map<string, number>();
  private closing = false;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly catalog: Catalog,
    private readonly sandbox: SandboxEnvironment,
    private readonly settings: Config['embedded'],
    private readonly log: winston.Logger,
  ) {
    // Results live in this process only, but a result due at a callbackUrl outlives it.
    this.deliveryStore = fileDeliveryStore(join(sandbox.stateDir, 'callbacks'));
  }

  async runtimes(): Promise<RuntimeInfo[]> {
    return this.catalog.available.map(runtimeInfo);
  }

  runtimeLimits(name: string): RuntimeLimits | undefined {
    return this.catalog.find(name)?.limits;
  }

  async start(tenant: string, spec: ExecutionSpec): Promise<{ id: string }> {
    if (this.closing) throw new ApiError(503, 'shutting_down', 'the gateway is shutting down', undefined, 5);
    const runtime = this.catalog.find(spec.runtime);
    if (!runtime) {
      const names = this.catalog.available.map((entry) => entry.name).join(', ');
      throw invalid('runtime', `unknown runtime ${JSON.stringify(spec.runtime)}; available: ${names}`);
    }
    const canRun = this.running < this.settings.maxRunning;
    if (!canRun && this.queue.length >= this.settings.maxQueued) throw atCapacity(this.retryAfterSeconds());
    const execution = new Execution(randomUUID(), tenant, spec, runtime, this.sandbox, (finished) =>
      this.retain(finished),
    );
    this.executions.set(execution.id, execution);
    if (canRun) this.launch(execution);
    else this.queue.push(execution);
    return { id: execution.id };
  }

  async get(tenant: string, id: string): Promise<ExecutionResult | undefined> {
    return this.find(tenant, id)?.result;
  }

  async cancel(tenant: string, id: string): Promise<boolean> {
    const execution = this.find(tenant, id);
    if (!execution) return false;
    const queuedAt = this.queue.indexOf(execution);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      execution.cancel();
      await execution.run();
      return true;
    }
    execution.cancel();
    return true;
  }

  async stdin(tenant: string, id: string, data: string | null): Promise<void> {
    const execution = this.find(tenant, id);
    if (!execution) throw notFound();
    if (!execution.interactive)
      throw new ApiError(409, 'not_interactive', 'the execution was not started with interactive: true');
    if (execution.journal.finished) throw new ApiError(409, 'finished', 'the execution has finished');
    if (execution.isStdinClosed) throw new ApiError(409, 'stdin_closed', 'stdin of the execution is closed');
    execution.stdin(data);
  }

  follow(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined {
    return this.find(tenant, id)?.journal.follow(signal);
  }

  async wait(tenant: string, id: string, signal?: AbortSignal): Promise<ExecutionResult | undefined> {
    const execution = this.find(tenant, id);
    if (!execution) return undefined;
    for await (const event of execution.journal.follow(signal ?? new AbortController().signal)) {
      if (event.type === 'exit') return event.result;
    }
    return execution.result;
  }

  load(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  async ready(): Promise<boolean> {
    return !this.closing && this.catalog.available.length > 0;
  }

  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    for (const execution of this.queue.splice(0)) {
      execution.cancel();
      await execution.run();
    }
    const drained = new Promise<void>((resolve) => {
      if (this.running === 0) resolve();
      else this.idle.add(resolve);
    });
    const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), deadlineMs).unref());
    if ((await Promise.race([drained, deadline])) === 'late') {
      this.log.warn('Cancelled executions still running at shutdown', { running: this.running });
      for (const execution of this.executions.values()) if (!execution.journal.finished) execution.cancel();
      await drained;
    }
    await this.sandbox.scratchPool.close();
    await this.sandbox.cgroups.close();
    this.sandbox.ociRuntime.close();
  }

  private find(tenant: string, id: string): Execution | undefined {
    const execution = this.executions.get(id);
    return execution?.tenant === tenant ? execution : undefined;
  }

  private launch(execution: Execution): void {
    this.running++;
    void execution.run().finally(() => {
      this.running--;
      const next = this.queue.shift();
      if (next) this.launch(next);
      else if (this.running === 0) for (const resolve of this.idle) resolve();
    });
  }

  /**
   * Keeps a finished result readable for the configured time, with the store bounded in count and
   * in bytes held: past either bound the oldest finished results go first.
   */
  private retain(execution: Execution): void {
    const bytes = execution.heldBytes;
    this.retainedSizes.set(execution.id, bytes);
    this.retainedBytes += bytes;
    setTimeout(() => this.forget(execution.id), this.settings.resultTtlSeconds * 1000).unref();
    const withinBounds = () =>
      this.executions.size <= this.settings.maxResults && this.retainedBytes <= this.settings.maxRetainedBytes;
    for (const [id, candidate] of this.executions) {
      if (withinBounds()) break;
      if (candidate.journal.finished) this.forget(id);
    }
  }

  private forget(id: string): void {
    const execution = this.executions.get(id);
    if (!execution?.journal.finished) return;
    this.executions.delete(id);
    this.retainedBytes -= this.retainedSizes.get(id) ?? 0;
    this.retainedSizes.delete(id);
  }

  /** A rough wait for a free slot: the queue ahead, a couple of seconds per round of slots. */
  private retryAfterSeconds(): number {
    return Math.min(60, 1 + Math.ceil(this.queue.length / this.settings.maxRunning) * 2);
  }
}
