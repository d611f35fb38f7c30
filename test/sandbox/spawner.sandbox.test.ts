import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Spawner } from '../../sandbox/spawner.js';
import { compileProgram } from '../helpers/gcc.js';

// sandpod-spawner (sandbox/spawner/), compiled from its source with the host's gcc, and
// the gateway's client of it: real processes, real pipes reopened through /proc, real removal.

const read = (stream: Readable) =>
  new Promise<string>((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    stream.on('close', () => resolve(text));
  });

const PATH = { PATH: '/usr/bin:/bin' };

describe('sandpod-spawner (needs root and gcc)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'sandpod-spawner-test-'));
  const binary = join(dir, 'sandpod-spawner');
  let spawner: Spawner;

  before(() => compileProgram('sandbox/spawner/sandpod-spawner.c', binary));
  beforeEach(() => {
    spawner = new Spawner(binary);
  });
  afterEach(() => spawner.close());
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should give the process its arguments and exactly the environment asked for', async () => {
    const outcome = await spawner.run('/usr/bin/env', [], { ONLY: 'this', ...PATH });
    assert.deepEqual(outcome.stdout.split('\n').filter(Boolean).sort(), ['ONLY=this', 'PATH=/usr/bin:/bin']);
    const echoed = await spawner.run('/bin/echo', ['two words', '', '$HOME'], PATH);
    assert.equal(echoed.stdout, 'two words  $HOME\n');
    // A bare name is looked up on the spawner's own PATH.
    assert.equal((await spawner.run('echo', ['found'], PATH)).stdout, 'found\n');
  });

  it('should connect stdin, stdout and stderr as pipes and end stdin when the gateway ends it', async () => {
    const started = await spawner.start(
      '/bin/sh',
      ['-c', 'cat; echo err >&2; readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2'],
      PATH,
    );
    const stdout = read(started.stdout);
    const stderr = read(started.stderr);
    started.stdin.write('line one\n');
    started.stdin.end('line two\n');
    const [out, err, exit] = await Promise.all([stdout, stderr, started.exit]);
    const [first, second, ...links] = out.split('\n').filter(Boolean);
    assert.deepEqual([first, second], ['line one', 'line two']);
    assert.equal(links.length, 3);
    for (const link of links) assert.match(link, /^pipe:\[\d+\]$/);
    assert.equal(err, 'err\n');
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  it('should pass no descriptor but stdio, not even the pipes of another running process', async () => {
    const other = await spawner.start('/bin/sleep', ['30'], PATH);
    try {
      const listed = await spawner.run('/bin/ls', ['/proc/self/fd'], PATH);
      // ls itself holds one more: the directory it lists.
      assert.deepEqual(listed.stdout.split('\n').filter(Boolean).sort(), ['0', '1', '2', '3']);
    } finally {
      other.kill('SIGKILL');
      await other.exit;
    }
  });

  it('should report the exit status, the signal that ended a process, and a failure to start', async () => {
    assert.deepEqual((await spawner.run('/bin/sh', ['-c', 'exit 7'], PATH)).code, 7);
    const signalled = await spawner.run('/bin/sh', ['-c', 'kill -USR1 $$'], PATH);
    assert.deepEqual([signalled.code, signalled.signal], [null, 'SIGUSR1']);
    await assert.rejects(spawner.start('/no/such/program', [], PATH), { code: 'ENOENT' });
    await assert.rejects(spawner.start('/bin/echo', ['a\0b'], PATH), /NUL byte/);
  });

  it('should signal a running process when asked', async () => {
    const sleeping = await spawner.start('/bin/sleep', ['30'], PATH);
    sleeping.kill('SIGTERM');
    assert.deepEqual(await sleeping.exit, { code: null, signal: 'SIGTERM' });
  });

  it('should keep the output of many processes at once apart, beyond a pipe buffer each', async () => {
    const outputs = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        spawner.run(
          '/bin/sh',
          ['-c', `head -c 300000 /dev/zero | tr '\\0' '${String.fromCharCode(97 + index)}'`],
          PATH,
        ),
      ),
    );
    for (const [index, outcome] of outputs.entries()) {
      assert.equal(outcome.stdout, String.fromCharCode(97 + index).repeat(300_000));
      assert.equal(outcome.code, 0);
    }
  });

  it('should drop input for a process that has already closed its stdin', async () => {
    const started = await spawner.start('/bin/sh', ['-c', 'exec 0<&-; sleep 0.2; echo done'], PATH);
    const stdout = read(started.stdout);
    await new Promise((resolve) => setTimeout(resolve, 100));
    started.stdin.write('nobody reads this\n');
    started.stdin.end();
    assert.equal(await stdout, 'done\n');
    assert.deepEqual(await started.exit, { code: 0, signal: null });
  });

  it('should remove a tree without following a symbolic link out of it', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'kept');
    const tree = join(dir, 'bundle');
    mkdirSync(join(tree, 'scratch', 'work'), { recursive: true });
    writeFileSync(join(tree, 'config.json'), '{}');
    writeFileSync(join(tree, 'scratch', 'work', 'main.py'), 'print(1)');
    symlinkSync(outside, join(tree, 'scratch', 'link'));
    await spawner.remove(tree);
    assert.equal(existsSync(tree), false);
    assert.deepEqual(readdirSync(outside), ['keep']);
    await spawner.remove(join(dir, 'never-there'));
    await assert.rejects(spawner.remove('relative/path'), /refused/);
  });

  it('should refuse to remove across a mount point and leave the mounted files alone', async () => {
    const tree = join(dir, 'mounted');
    const mountPoint = join(tree, 'mnt');
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'sandpod-spawner-test', mountPoint]);
    try {
      writeFileSync(join(mountPoint, 'inside'), 'x');
      await assert.rejects(spawner.remove(tree), /could not remove a bundle: ENOTEMPTY/);
      assert.deepEqual(readdirSync(mountPoint), ['inside']);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('should fail the processes it was reporting when the spawner dies, and start a new one after', async () => {
    const sleeping = await spawner.start('/bin/sleep', ['30'], PATH);
    const helpers = execFileSync('pgrep', ['-P', String(process.pid), '-f', binary], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    assert.equal(helpers.length, 1);
    process.kill(Number(helpers[0]), 'SIGKILL');
    await assert.rejects(sleeping.exit, /sandpod-spawner exited/);
    process.kill(sleeping.pid, 'SIGKILL');
    assert.equal((await spawner.run('/bin/echo', ['again'], PATH)).stdout, 'again\n');
  });
});
