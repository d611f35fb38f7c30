import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import type { ExecutionSpec } from '../../../gateway/backend.js';
import { runToEnd, startEmbedded, testConfig } from '../../helpers/embedded.js';

// A full collection on demand, to see what the backend still holds.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('embedded result retention', function () {
  this.timeout(60_000);

  it('should let go of the request, up to megabytes of source and stdin, when the execution ends', async () => {
    const fixture = await startEmbedded();
    try {
      // Built here so that nothing but the backend can hold it: a WeakRef tells whether it does.
      const request = (): ExecutionSpec => ({
        runtime: 'bash',
        source: `# ${'x'.repeat(400_000)}\necho done`,
        stdin: 'y'.repeat(900_000),
        limits: DEFAULT_LIMITS,
      });
      const held: WeakRef<ExecutionSpec>[] = [];
      // In a function of its own, so that no frame of this test keeps the last request alive.
      const runOnce = async () => {
        const spec = request();
        held.push(new WeakRef(spec));
        const { id } = await fixture.backend.start('default', spec);
        return fixture.backend.wait('default', id);
      };
      for (let run = 0; run < 3; run++) assert.equal((await runOnce())?.stdout, 'done\n');
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      assert.deepEqual(
        held.map((ref) => ref.deref() !== undefined),
        [false, false, false],
        'a finished execution still holds its request',
      );
    } finally {
      await fixture.close();
    }
  });

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
    const fixture = await startEmbedded(testConfig({}, { maxRetainedBytes: 50_000 }));
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
