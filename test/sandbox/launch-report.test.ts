import assert from 'node:assert/strict';
import { type LaunchReport, launcherExitCode, launchReport } from '../../sandbox/launcher/report.js';

const report: LaunchReport = {
  sandpodLaunch: 1,
  startedAt: '2026-01-01T10:00:01.250Z',
  finishedAt: '2026-01-01T10:00:01.300Z',
  durationMs: 50,
  cpuMs: 20,
  outputBytes: 6,
  limit: null,
  exitCode: 0,
  signal: null,
  error: null,
};
const ended = (exitCode: number, message: string) => ({ exitCode, message });

describe('launchReport', () => {
  it('should read the report the launcher wrote when the exit code matches it', () => {
    assert.deepEqual(launchReport(ended(0, `${JSON.stringify(report)}\n`)), report);
  });

  for (const [name, message] of [
    ['an empty termination message', ''],
    ['text that is not JSON', 'Sleep expired'],
    ['JSON that is cut off', JSON.stringify(report).slice(0, 40)],
    ['JSON without the launcher marker', JSON.stringify({ ...report, sandpodLaunch: undefined })],
    ['a limit the launcher never names', JSON.stringify({ ...report, limit: 'memory' })],
  ] as const) {
    it(`should find no report in ${name}`, () => {
      assert.equal(launchReport(ended(0, message)), undefined);
    });
  }

  it('should distrust a report whose exit code the container did not end with', () => {
    // A program can write the file too; a launcher killed from outside leaves the forgery behind.
    const forged = JSON.stringify({ ...report, limit: 'wall', exitCode: null, signal: 9 });
    assert.equal(launchReport(ended(0, forged)), undefined);
    assert.ok(launchReport(ended(137, forged)));
  });

  for (const [name, fields, code] of [
    ['a clean exit', {}, 0],
    ['an exit code', { exitCode: 3 }, 3],
    ['a signal', { exitCode: null, signal: 11 }, 139],
    ['a limit', { limit: 'cpu', exitCode: null, signal: 9 }, 137],
    ['a program that could not start', { error: 'cannot run x', exitCode: 127 }, 127],
  ] as const) {
    it(`should expect exit code ${code} after ${name}`, () => {
      assert.equal(launcherExitCode({ ...report, ...fields }), code);
    });
  }
});
