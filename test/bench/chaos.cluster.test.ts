import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { nodeProblem, nodeSuiteTitle, repoPath, skipOrFail } from '../helpers/cluster-suite.js';

// Needs the dev cluster with a Ready node, started from this checkout (the campaign reads its
// audit log and pid files), and `make build` (the campaign starts dist/gateway and dist/operator).
// The short version of `make chaos`: 30 executions of the whole mix through two gateway replicas
// and two operator replicas while the operator leader and a gateway replica are SIGKILLed once
// each. scripts/test-cluster.sh runs this file after every other suite: it kills processes that
// other suites' executions could be waiting on.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'short chaos campaign (bench/chaos.ts)',
  'needs the dev cluster with a Ready node started from this checkout, and make build',
);

const EXECUTIONS = 30;

/** The figure of a row of the campaign's check table, e.g. `| lost (…) | 0 |`. */
function figure(report: string, row: string): string | undefined {
  const line = report.split('\n').find((candidate) => candidate.startsWith(`| ${row}`));
  return line?.split('|').at(-2)?.trim();
}

describe(title, function () {
  this.timeout(600_000);

  before(function () {
    if (problem) skipOrFail(this, problem);
  });

  it('should lose nothing and duplicate nothing when the operator leader and a gateway replica are killed', async () => {
    const child = spawn(process.execPath, ['--import=tsx', repoPath('bench/chaos.ts')], {
      cwd: repoPath('.'),
      env: {
        ...process.env,
        CHAOS_EXECUTIONS: String(EXECUTIONS),
        CHAOS_RATE: '0.5',
        CHAOS_FAULTS: 'operator=1,gateway=1',
        CHAOS_CLIENT_TIMEOUT_S: '240',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let report = '';
    let progress = '';
    child.stdout.on('data', (chunk: Buffer) => {
      report += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      progress = (progress + chunk.toString('utf8')).slice(-20_000);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    const context = `${report}\n${progress}`;
    assert.equal(figure(report, 'lost'), '0', context);
    assert.equal(figure(report, 'duplicated'), '0', context);
    assert.equal(figure(report, 'SystemError'), '0', context);
    assert.equal(figure(report, 'pods left / input Secrets left'), '0 / 0', context);
    const accepted = Number(figure(report, 'executions accepted'));
    assert.equal(accepted, EXECUTIONS, context);
    assert.equal(figure(report, 'results as deserved'), `${EXECUTIONS} of ${EXECUTIONS}`, context);
    assert.match(report, /^- \d+ s operator: back after [\d.]+ s \S+ killed; \S+ leads$/m, context);
    assert.match(report, /^- \d+ s gateway: back after [\d.]+ s replica \d killed, started again$/m, context);
    assert.equal(code, 0, context);
  });
});
