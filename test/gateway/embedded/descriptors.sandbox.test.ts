import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import { startEmbedded } from '../../helpers/embedded.js';

// Found by the soak (bench/soak.ts): every interactive execution whose client never closed stdin
// left the write end of the program's stdin pipe open in the gateway, one descriptor per run.

const openDescriptors = async () => (await readdir('/proc/self/fd')).length;

describe('embedded descriptors', function () {
  this.timeout(120_000);

  it('should close the stdin pipe of an interactive execution when its program ends without EOF', async () => {
    const fixture = await startEmbedded();
    try {
      const runOnce = async () => {
        const { id } = await fixture.backend.start('default', {
          runtime: 'bash',
          source: 'read line; echo "got $line"',
          interactive: true,
          limits: DEFAULT_LIMITS,
        });
        // One line and no EOF: the program ends on its own, its stdin still open on our side.
        await fixture.backend.stdin('default', id, 'hello\n');
        const result = await fixture.backend.wait('default', id);
        assert.equal(result?.stdout, 'got hello\n');
      };
      await runOnce(); // the spawner and the scratch pool open what they keep
      const before = await openDescriptors();
      const runs = 8;
      for (let run = 0; run < runs; run++) await runOnce();
      const after = await openDescriptors();
      assert.ok(after - before < runs, `${after - before} descriptors more after ${runs} interactive runs`);
    } finally {
      await fixture.close();
    }
  });
});
