import assert from 'node:assert/strict';
import { formatDuration } from '../../operator/time.js';

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [850, '850ms'],
    [1000, '1s'],
    [1250, '1.25s'],
    [61_000, '1m1s'],
  ];
  for (const [ms, text] of cases) {
    it(`should show ${ms} ms as ${text}`, () => assert.equal(formatDuration(ms), text));
  }
});
