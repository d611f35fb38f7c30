import assert from 'node:assert/strict';
import { OutputWindow, type Piece, type WindowEnd } from '../../../gateway/kubernetes/output-window.js';

async function readAll(window: OutputWindow, signal = new AbortController().signal) {
  const pieces: Piece[] = [];
  const reader = window.read(signal);
  for (;;) {
    const next = await reader.next();
    if (next.done) return { pieces, end: next.value as WindowEnd };
    pieces.push(next.value);
  }
}

const text = (pieces: Piece[]) => pieces.map((piece) => `${piece.stream}@${piece.position}:${piece.chunk}`);

describe('OutputWindow', () => {
  it('should give every piece at its position in its own stream, then complete, when it saw everything', async () => {
    const window = new OutputWindow(1024);
    window.add('stdout', Buffer.from('name? '));
    window.add('stderr', Buffer.from('warn'));
    window.add('stdout', Buffer.from('ok\n'));
    window.end('complete');

    const { pieces, end } = await readAll(window);

    assert.deepEqual(text(pieces), ['stdout@0:name? ', 'stderr@0:warn', 'stdout@6:ok\n']);
    assert.equal(end, 'complete');
  });

  it('should hand a waiting reader a piece when it is added', async () => {
    const window = new OutputWindow(1024);
    const reader = window.read(new AbortController().signal);
    const first = reader.next();

    window.add('stdout', Buffer.from('x'));

    assert.deepEqual(text([(await first).value as Piece]), ['stdout@0:x']);
  });

  it('should end a reader as partial when it fell behind the pieces kept', async () => {
    const window = new OutputWindow(4);
    const reader = window.read(new AbortController().signal);
    window.add('stdout', Buffer.from('ab'));
    assert.deepEqual(text([(await reader.next()).value as Piece]), ['stdout@0:ab']);

    window.add('stdout', Buffer.from('cd'));
    window.add('stdout', Buffer.from('ef'));
    window.add('stdout', Buffer.from('gh'));
    const late = await readAll(window);

    assert.deepEqual(await reader.next(), { done: true, value: 'partial' });
    assert.equal(late.end, 'partial');
    assert.deepEqual(late.pieces, []);
  });

  it('should keep the newest piece even when it alone is over the budget', () => {
    const window = new OutputWindow(2);
    window.add('stdout', Buffer.from('a'));
    window.add('stdout', Buffer.from('bcdef'));

    assert.ok('dropped' in window.at(0));
    assert.deepEqual(text([window.at(1) as Piece]), ['stdout@1:bcdef']);
  });

  it('should tell readers the log must go on when the window ends partial', async () => {
    const window = new OutputWindow(1024);
    window.add('stdout', Buffer.from('a'));
    window.end('partial');
    window.add('stdout', Buffer.from('ignored'));
    window.end('complete');

    const { pieces, end } = await readAll(window);

    assert.deepEqual(text(pieces), ['stdout@0:a']);
    assert.equal(end, 'partial');
  });

  it('should end a waiting reader as partial when its signal aborts', async () => {
    const window = new OutputWindow(1024);
    const stop = new AbortController();
    const reading = readAll(window, stop.signal);

    stop.abort();

    assert.equal((await reading).end, 'partial');
  });
});
