import assert from 'node:assert/strict';
import type { Execution } from '../../contract/objects.js';
import { placeInLine, queuePosition } from '../../operator/capacity.js';
import { at, execution } from './fixtures.js';

function named(name: string, createdAt: number, status?: Execution['status'], namespace = 'tenant-a'): Execution {
  const base = execution();
  return {
    ...base,
    metadata: { ...base.metadata, name, uid: `uid-${name}`, namespace, creationTimestamp: at(createdAt) },
    ...(status ? { status } : {}),
  };
}

const running = (name: string, createdAt: number) =>
  named(name, createdAt, { phase: 'Running', podName: `${name}-run` });
const finished = (name: string, createdAt: number) =>
  named(name, createdAt, { phase: 'Succeeded', reason: 'Completed', podName: `${name}-run` });

describe('queuePosition', () => {
  const cases: { name: string; cap: number; siblings: Execution[]; subject: string; expected: number }[] = [
    { name: 'free slots', cap: 2, siblings: [running('a', 0), named('b', 1)], subject: 'b', expected: 0 },
    { name: 'the cap reached', cap: 1, siblings: [running('a', 0), named('b', 1)], subject: 'b', expected: 1 },
    {
      name: 'an older waiter ahead',
      cap: 2,
      siblings: [running('a', 0), named('b', 1), named('c', 2)],
      subject: 'c',
      expected: 1,
    },
    {
      name: 'finished executions, which hold no slot',
      cap: 1,
      siblings: [finished('a', 0), named('b', 1)],
      subject: 'b',
      expected: 0,
    },
    {
      name: 'another namespace full',
      cap: 1,
      siblings: [named('x', 0, { phase: 'Running', podName: 'x-run' }, 'tenant-b'), named('b', 1)],
      subject: 'b',
      expected: 0,
    },
    { name: 'no cap', cap: 0, siblings: [running('a', 0), running('b', 1), named('c', 2)], subject: 'c', expected: 0 },
  ];
  for (const { name, cap, siblings, subject, expected } of cases) {
    it(`should give ${expected} with ${name}`, () => {
      const target = siblings.find((sibling) => sibling.metadata.name === subject);
      assert.ok(target);
      assert.equal(queuePosition(target, siblings, cap), expected);
    });
  }

  it('should serve waiters in creation order whatever order the cache lists them', () => {
    const siblings = [named('late', 5), running('a', 0), named('early', 1)];
    const [late, , early] = siblings;
    assert.ok(late && early);
    assert.equal(queuePosition(early, siblings, 2), 0);
    assert.equal(queuePosition(late, siblings, 2), 1);
  });
});

describe('placeInLine', () => {
  const places: [number, string][] = [
    [1, '1'],
    [10, '10'],
    [11, 'more than 10'],
    [20, 'more than 10'],
    [21, 'more than 20'],
    [50, 'more than 20'],
    [51, 'more than 50'],
    [101, 'more than 100'],
    [499, 'more than 200'],
    [515, 'more than 500'],
    [20_001, 'more than 20000'],
  ];
  for (const [position, place] of places) {
    it(`should say ${place} for place ${position}`, () => assert.equal(placeInLine(position), place));
  }

  it('should change a few times per decade while a line of 2000 moves up, not at every start', () => {
    const changes = (from: number) => {
      let count = 0;
      for (let position = from; position > 1; position -= 1) {
        if (placeInLine(position - 1) !== placeInLine(position)) count += 1;
      }
      return count;
    };
    // 9 exact steps below 10, then 10, 20, 50, 100, 200, 500, 1000 (each crossed once).
    assert.equal(changes(2000), 16);
  });
});
