import assert from 'node:assert/strict';
import type { ExecutionResult } from '../../../contract/index.js';
import type { ExecutionEvent } from '../../../gateway/backend.js';
import { Journal, MAX_JOURNAL_ENTRIES } from '../../../gateway/embedded/journal.js';

const result = { id: 'x', phase: 'Succeeded', reason: 'Completed' } as ExecutionResult;

async function collect(events: AsyncIterable<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const seen: ExecutionEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('Journal', () => {
  it('should replay everything recorded and then end with exit when the execution has finished', async () => {
    const journal = new Journal();
    journal.status('Pending');
    journal.status('Running');
    journal.output('stdout', 'a');
    journal.output('stderr', 'b');
    journal.output('stdout', 'c');
    journal.status('Succeeded');
    journal.finish(result);
    const events = await collect(journal.follow(new AbortController().signal));
    assert.deepEqual(
      events.map((event) =>
        event.type === 'output' ? `${event.stream}:${event.data}` : event.type === 'status' ? event.phase : 'exit',
      ),
      ['Pending', 'Running', 'stdout:a', 'stderr:b', 'stdout:c', 'Succeeded', 'exit'],
    );
  });

  it('should deliver output written after a follower caught up, without repeating it', async () => {
    const journal = new Journal();
    journal.output('stdout', 'one ');
    const followed = collect(journal.follow(new AbortController().signal));
    await new Promise((resolve) => setImmediate(resolve));
    journal.output('stdout', 'two ');
    journal.output('stdout', 'three');
    journal.finish(result);
    const text = (await followed)
      .filter((event) => event.type === 'output')
      .map((event) => event.data)
      .join('');
    assert.equal(text, 'one two three');
  });

  it('should lose nothing when the last chunk grows while a slow follower holds an event', async () => {
    const journal = new Journal();
    journal.output('stdout', 'first ');
    const follower = journal.follow(new AbortController().signal);
    const held = await follower.next();
    assert.deepEqual(held.value, { type: 'output', stream: 'stdout', data: 'first ' });
    journal.output('stdout', 'grown ');
    journal.finish(result);
    let rest = '';
    for await (const event of { [Symbol.asyncIterator]: () => follower })
      if (event.type === 'output') rest += event.data;
    assert.equal(rest, 'grown ');
  });

  it('should merge consecutive chunks of one stream when a program writes a byte at a time', () => {
    const journal = new Journal();
    for (let index = 0; index < 1000; index++) journal.output('stdout', 'x');
    assert.equal(journal.text.stdout.length, 1000);
    const entries = (journal as unknown as { entries: unknown[] }).entries;
    assert.equal(entries.length, 1);
  });

  it('should keep each stream apart and in order when the streams interleave', async () => {
    const journal = new Journal();
    journal.output('stdout', 'o1 ');
    journal.output('stderr', 'e1 ');
    journal.output('stdout', 'o2 ');
    journal.output('stdout', 'o3 ');
    journal.output('stderr', 'e2 ');
    journal.finish(result);
    const events = await collect(journal.follow(new AbortController().signal));
    const outputs = events.flatMap((event) => (event.type === 'output' ? [`${event.stream}:${event.data}`] : []));
    assert.deepEqual(outputs, ['stdout:o1 ', 'stderr:e1 ', 'stdout:o2 o3 ', 'stderr:e2 ']);
    assert.equal(journal.text.stdout, 'o1 o2 o3 ');
    assert.equal(journal.text.stderr, 'e1 e2 ');
  });

  it('should keep at most its entry cap when a program switches streams at every byte', () => {
    const journal = new Journal();
    for (let index = 0; index < 100_000; index++) journal.output(index % 2 === 0 ? 'stdout' : 'stderr', 'x');
    journal.status('Succeeded');
    assert.ok(journal.entryCount <= MAX_JOURNAL_ENTRIES + 3, `${journal.entryCount} entries`);
    assert.equal(journal.text.stdout.length + journal.text.stderr.length, 100_000);
  });

  it('should lose and repeat nothing of either stream when output passes the entry cap', async () => {
    const journal = new Journal(8);
    journal.status('Running');
    const live = collect(journal.follow(new AbortController().signal));
    for (let index = 0; index < 50; index++) journal.output(index % 2 === 0 ? 'stdout' : 'stderr', `${index},`);
    journal.status('Succeeded');
    journal.finish(result);
    for (const events of [await live, await collect(journal.follow(new AbortController().signal))]) {
      const text = { stdout: '', stderr: '' };
      for (const event of events) if (event.type === 'output') text[event.stream] += event.data;
      assert.equal(text.stdout, journal.text.stdout);
      assert.equal(text.stderr, journal.text.stderr);
      const kinds = events.map((event) => (event.type === 'status' ? event.phase : event.type));
      assert.equal(kinds.at(-2), 'Succeeded', 'all output comes before the final status');
      assert.equal(kinds.at(-1), 'exit');
    }
  });

  it('should stop following when the follower aborts', async () => {
    const journal = new Journal();
    const controller = new AbortController();
    const followed = collect(journal.follow(controller.signal));
    controller.abort();
    assert.deepEqual(await followed, []);
  });
});
