import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../gateway/main.ts', import.meta.url));

function startMain(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import=tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** The first JSON log line with this message. */
function logLine(child: ChildProcess, message: string): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.message === message) resolve(entry);
      } catch {
        // Not a log line.
      }
    });
    lines.once('close', () => reject(new Error(`the gateway exited before logging ${message}`)));
  });
}

describe('gateway main', function () {
  this.timeout(60_000);
  let workDir: string;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'sandpod-main-test-'));
  });

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = exited(child);
      child.kill('SIGKILL');
      await gone;
    }
    child = undefined;
    await rm(workDir, { recursive: true, force: true });
  });

  it('should exit 1 with a clear message when the kubernetes backend has no credentials', async () => {
    child = startMain({ SANDPOD_BACKEND: 'kubernetes', KUBECONFIG: '', HOME: workDir });

    const { code, stderr } = await exited(child);

    assert.equal(code, 1);
    assert.match(stderr, /kubernetes backend could not start: no Kubernetes credentials/);
  });

  it('should exit 1 naming the field when the configuration is invalid', async () => {
    child = startMain({ PORT: '99999999' });

    const { code, stderr } = await exited(child);

    assert.equal(code, 1);
    assert.match(stderr, /invalid configuration at port/);
  });

  it('should refuse to run programs unsandboxed and say why when it is not root', async () => {
    child = spawn(process.execPath, ['--import=tsx', MAIN], {
      env: { ...process.env, PORT: '0', HOME: workDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: 65534,
      gid: 65534,
    });

    const { code, stderr } = await exited(child);

    assert.equal(code, 1);
    assert.match(stderr, /embedded mode needs root/);
  });

  it('should exit 1 naming the OCI runtime when it is missing', async () => {
    child = startMain({ PORT: '0', SANDPOD_OCI_RUNTIME_PATH: path.join(workDir, 'no-runc') });

    const { code, stderr } = await exited(child);

    assert.equal(code, 1);
    assert.match(stderr, /the OCI runtime .*no-runc does not exist/);
  });

  it('should serve, then stop cleanly when it gets SIGTERM', async () => {
    const configPath = path.join(workDir, 'config.yaml');
    await writeFile(configPath, `embedded:\n  stateDir: ${path.join(workDir, 'state')}\nshutdownGraceMs: 5000\n`);
    child = startMain({ SANDPOD_CONFIG: configPath, HOST: '127.0.0.1', PORT: '0' });
    const gone = exited(child);

    const started = await logLine(child, 'Started gateway');
    const health = await fetch(new URL('/healthz', String(started.url)));
    child.kill('SIGTERM');
    const { code } = await gone;

    assert.equal(health.status, 200);
    assert.equal(code, 0);
  });
});
