import assert from 'node:assert/strict';
import { type EmbeddedFixture, runToEnd, startEmbedded } from '../../helpers/embedded.js';

// Found by the soak (bench/soak.ts) on a loaded machine: a wall time limit that passed while runc
// was still starting the program stopped runc half-way, and the execution then ended as
// SystemError ("runc run failed: container process is already dead") instead of
// TimeLimitExceeded. A limit of a few milliseconds makes that start-up race happen every time.

describe('embedded limits that pass while the program starts', function () {
  this.timeout(120_000);
  let fixture: EmbeddedFixture;

  before(async () => {
    fixture = await startEmbedded();
  });

  after(async () => {
    await fixture?.close();
  });

  it('should report TimeLimitExceeded when the wall time limit passes before the program has started', async () => {
    const reasons = new Map<string, number>();
    for (const wallTimeMs of [1, 5, 30]) {
      for (let run = 0; run < 12; run++) {
        const result = await runToEnd(fixture.backend, {
          runtime: 'bash',
          source: 'while :; do :; done',
          limits: { wallTimeMs },
        });
        const key = `${result.reason}: ${result.message}`;
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    }
    assert.deepEqual(
      [...reasons.keys()].filter((key) => !key.startsWith('TimeLimitExceeded')),
      [],
      JSON.stringify([...reasons]),
    );
  });
});
