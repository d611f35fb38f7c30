import assert from 'node:assert/strict';
import { merged } from '../../../gateway/kubernetes/merged.js';

async function* slow(values: string[], delayMs: number) {
  for (const value of values) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield value;
  }
}

describe('merged', () => {
  it('should give every value of every source and keep each source in order', async () => {
    const seen: string[] = [];
    for await (const value of merged([slow(['a1', 'a2', 'a3'], 3), slow(['b1', 'b2'], 5)])) seen.push(value);

    assert.deepEqual(
      seen.filter((value) => value.startsWith('a')),
      ['a1', 'a2', 'a3'],
    );
    assert.deepEqual(
      seen.filter((value) => value.startsWith('b')),
      ['b1', 'b2'],
    );
  });

  it('should end when every source has ended, including empty ones', async () => {
    const seen: string[] = [];
    for await (const value of merged([slow([], 1), slow(['x'], 1)])) seen.push(value);

    assert.deepEqual(seen, ['x']);
  });

  it('should not read a source ahead of its consumer', async () => {
    let produced = 0;
    async function* counting() {
      for (;;) {
        produced += 1;
        yield produced;
      }
    }

    for await (const value of merged([counting()])) {
      if (value === 3) break;
    }

    assert.equal(produced, 3);
  });

  it('should close the sources when the consumer stops early', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (;;) yield 1;
      } finally {
        closed = true;
      }
    }

    for await (const _ of merged([endless()])) break;
    await new Promise((resolve) => setImmediate(resolve));

    assert.equal(closed, true);
  });
});
