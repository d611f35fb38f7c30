import assert from 'node:assert/strict';
import { runToEnd, startEmbedded, testConfig } from '../../helpers/embedded.js';

describe('embedded result retention', function () {
  this.timeout(60_000);

  it('should drop the oldest finished result when the store is at its count bound', async () => {
    const fixture = await startEmbedded(testConfig({}, { maxResults: 2 }));
    try {
      const ids = [];
      for (const word of ['one', 'two', 'three']) {
        ids.push((await runToEnd(fixture.backend, { runtime: 'bash', source: `echo ${word}` })).id);
      }
      assert.equal(await fixture.backend.get('default', ids[0] as string), undefined);
      assert.equal((await fixture.backend.get('default', ids[2] as string))?.stdout, 'three\n');
    } finally {
      await fixture.close();
    }
  });

  it('should drop the oldest finished results when their output passes the memory bound', async () => {
    const fixture = await startEmbedded(testConfig({}, { maxRetainedOutputBytes: 25_000 }));
    try {
      const ids = [];
      for (let run = 0; run < 3; run++) {
        const result = await runToEnd(fixture.backend, {
          runtime: 'bash',
          source: 'head -c 10000 /dev/zero | tr "\\0" x',
        });
        assert.equal(result.stdout.length, 10_000);
        ids.push(result.id);
      }
      assert.equal(await fixture.backend.get('default', ids[0] as string), undefined);
      assert.equal((await fixture.backend.get('default', ids[1] as string))?.stdout.length, 10_000);
      assert.equal((await fixture.backend.get('default', ids[2] as string))?.stdout.length, 10_000);
    } finally {
      await fixture.close();
    }
  });
});
