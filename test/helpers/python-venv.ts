import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The project-local virtual environment of the Python clients the tests drive (ignored by git). */
export const TEST_VENV = path.resolve('.venv-test');

/** The official Judge0 Python SDK, pinned. */
export const JUDGE0_SDK = 'judge0==0.0.8';

/** The venv's python with `packages` installed, created on first use. */
export async function testPython(packages: string[]): Promise<string> {
  const python = path.join(TEST_VENV, 'bin', 'python');
  const ready = await access(python).then(
    () => true,
    () => false,
  );
  if (!ready) await run('python3', ['-m', 'venv', TEST_VENV]);
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...packages], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return python;
}
