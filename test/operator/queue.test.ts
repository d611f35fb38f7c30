import assert from 'node:assert/strict';
import { backoffDelay, type Timers, WorkQueue } from '../../operator/queue.js';

/** A clock the test moves by hand; timers fire in order as it passes them. */
class ManualTimers implements Timers {
  private time = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now() {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number) {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown) {
    this.pending.delete(handle as number);
  }

  advance(ms: number) {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = until;
  }

  get scheduled() {
    return this.pending.size;
  }
}

const backoff = { baseDelayMs: 100, maxDelayMs: 1000 };

describe('backoffDelay', () => {
  const cases: [number, number][] = [
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [500, 1000],
  ];
  for (const [failures, delay] of cases) {
    it(`should wait ${delay} ms after failure ${failures}`, () => assert.equal(backoffDelay(failures, backoff), delay));
  }
});

describe('WorkQueue', () => {
  it('should hold a key once however often it is added while waiting', async () => {
    const queue = new WorkQueue(backoff, new ManualTimers());
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    assert.equal(queue.depth, 2);
    assert.equal(await queue.take(), 'ns/a');
    assert.equal(await queue.take(), 'ns/b');
  });

  it('should not hand a key to a second worker while the first holds it, and requeue it when done', async () => {
    const queue = new WorkQueue(backoff, new ManualTimers());
    queue.add('ns/a');
    const key = await queue.take();
    queue.add('ns/a');
    assert.equal(queue.depth, 0, 'a key being worked on waits for done()');
    queue.done(key ?? '');
    assert.equal(queue.depth, 1);
    assert.equal(await queue.take(), 'ns/a');
  });

  it('should wake a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue(backoff, new ManualTimers());
    const taken = queue.take();
    queue.add('ns/a');
    assert.equal(await taken, 'ns/a');
  });

  it('should bring a failed key back after a growing delay, and reset it after forget', async () => {
    const timers = new ManualTimers();
    const queue = new WorkQueue(backoff, timers);
    queue.add('ns/a');
    let key = await queue.take();
    queue.done(key ?? '');
    assert.equal(queue.retry('ns/a'), 100);
    timers.advance(99);
    assert.equal(queue.depth, 0);
    timers.advance(1);
    assert.equal(queue.depth, 1);
    key = await queue.take();
    queue.done(key ?? '');
    assert.equal(queue.retry('ns/a'), 200);
    queue.forget('ns/a');
    assert.equal(queue.failureCount('ns/a'), 0);
  });

  it('should keep the earliest of two delayed adds and let an immediate add cancel a delayed one', () => {
    const timers = new ManualTimers();
    const queue = new WorkQueue(backoff, timers);
    queue.addAfter('ns/a', 500);
    queue.addAfter('ns/a', 200);
    queue.addAfter('ns/a', 900);
    assert.equal(timers.scheduled, 1);
    timers.advance(200);
    assert.equal(queue.depth, 1);
    queue.addAfter('ns/b', 300);
    queue.add('ns/b');
    assert.equal(timers.scheduled, 0);
    assert.equal(queue.depth, 2);
  });

  it('should release waiting workers and drop timers when shut down', async () => {
    const timers = new ManualTimers();
    const queue = new WorkQueue(backoff, timers);
    const taken = queue.take();
    queue.addAfter('ns/a', 100);
    queue.shutDown();
    assert.equal(await taken, undefined);
    assert.equal(timers.scheduled, 0);
    queue.add('ns/a');
    assert.equal(await queue.take(), undefined);
  });
});
