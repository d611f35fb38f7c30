import assert from 'node:assert/strict';
import { runSoak, type SoakReport } from '../../bench/soak.js';

// The soak of bench/soak.ts for 3 minutes (SOAK_TEST_MINUTES): the embedded gateway as its own
// process (dist/, built by `make build`) at 80% of its measured capacity with floods and bombs.
// End state only, never timing: every execution got the outcome it deserves, the gateway's
// descriptors, cgroups and scratch mounts are back to their idle baseline, its memory grew little.

describe('soak of the embedded gateway', function () {
  const minutes = Number(process.env.SOAK_TEST_MINUTES ?? 3);
  this.timeout((minutes + 5) * 60_000);
  let report: SoakReport;

  before(async () => {
    report = await runSoak({ minutes, intervalSeconds: 15, capacitySeconds: 20, loadShare: 0.8, log: () => undefined });
  });

  it('should give every execution of the mix the outcome it deserves while the gateway stays up', () => {
    assert.equal(report.gatewayExit, undefined, 'the gateway exited');
    const kinds = new Set(report.outcomes.map((outcome) => outcome.kind));
    assert.deepEqual([...kinds].sort(), ['flood', 'fork', 'hello', 'interactive', 'memory', 'time']);
    assert.deepEqual(
      report.failures.slice(0, 10).map((failure) => `${failure.kind}: ${failure.problem}`),
      [],
      `${report.failures.length} of ${report.outcomes.length} executions failed`,
    );
  });

  it('should be back to its baseline of descriptors, cgroups and scratch mounts when idle again', () => {
    assert.ok(report.end.fds <= report.baseline.fds, `fds ${report.end.fds} > ${report.baseline.fds}`);
    assert.ok(
      report.end.cgroups <= report.baseline.cgroups,
      `cgroups ${report.end.cgroups} > ${report.baseline.cgroups}`,
    );
    assert.equal(report.end.nestedCgroups, 0, 'container cgroups left behind');
    assert.ok(report.end.mounts <= report.baseline.mounts, `mounts ${report.end.mounts} > ${report.baseline.mounts}`);
  });

  it('should grow its memory by less than 64 MiB over the soak', () => {
    const growth = report.end.rssMiB - report.baseline.rssMiB;
    assert.ok(
      growth < 64,
      `RSS grew ${growth.toFixed(1)} MiB (${report.baseline.rssMiB.toFixed(1)} -> ${report.end.rssMiB.toFixed(1)})`,
    );
  });
});
