import assert from 'node:assert/strict';
import { LiveOutput, unseenPart } from '../../../gateway/kubernetes/live-output.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('LiveOutput', () => {
  it('should pass chunks through and keep the streams apart', () => {
    const live = new LiveOutput(100);

    assert.equal(live.take('stdout', bytes('ab'), 0), 'ab');
    assert.equal(live.take('stderr', bytes('x'), 0), 'x');
    assert.equal(live.take('stdout', bytes('c'), 2), 'c');
    assert.deepEqual(live.readBytes, { stdout: 3, stderr: 1 });
  });

  it('should skip bytes already sent when a log is read again from its start', () => {
    const live = new LiveOutput(100);
    live.take('stdout', bytes('hello '), 0);

    const again = live.take('stdout', bytes('hello world'), 0);

    assert.equal(again, 'world');
  });

  it('should not split a character across chunks', () => {
    const live = new LiveOutput(100);
    const euro = bytes('€');

    assert.equal(live.take('stdout', euro.subarray(0, 1), 0), '');
    assert.equal(live.take('stdout', euro.subarray(1), 1), '€');
  });

  it('should stop at the cap shared by stdout and stderr', () => {
    const live = new LiveOutput(5);

    assert.equal(live.take('stdout', bytes('abc'), 0), 'abc');
    assert.equal(live.take('stderr', bytes('defg'), 0), 'de');
    assert.equal(live.capped, true);
    assert.equal(live.take('stdout', bytes('h'), 3), '');
  });

  it('should give the whole final text when nothing was sent live', () => {
    const live = new LiveOutput(100);

    assert.equal(live.remainder('stdout', 'all of it'), 'all of it');
  });

  it('should give only the tail of the final text when its head was sent live', () => {
    const live = new LiveOutput(100);
    live.take('stdout', bytes('hel'), 0);

    assert.equal(live.remainder('stdout', 'hello\n'), 'lo\n');
    assert.equal(live.remainder('stdout', 'hello\n'), '');
  });

  it('should give nothing when what was sent is not the head of the final text', () => {
    const live = new LiveOutput(100);
    live.take('stdout', bytes('abc'), 0);

    assert.equal(live.remainder('stdout', 'xyz and more'), '');
  });

  it('should give nothing when more was sent live than status holds', () => {
    const live = new LiveOutput(100, 4);
    live.take('stdout', bytes('0123456789'), 0);

    assert.equal(live.remainder('stdout', '0123'), '');
  });

  it('should hand out what a decoder holds when the log ends inside a character', () => {
    const live = new LiveOutput(100);
    live.take('stdout', bytes('€').subarray(0, 2), 0);

    assert.equal(live.flush('stdout'), '\ufffd');
  });
});

describe('unseenPart', () => {
  const chunk = bytes('abcdef');
  const table: [number, number, string][] = [
    [0, 0, 'abcdef'],
    [0, 2, 'cdef'],
    [2, 2, 'abcdef'],
    [0, 6, ''],
    [0, 10, ''],
    [4, 6, 'cdef'],
  ];
  for (const [position, alreadyRead, expected] of table) {
    it(`should keep ${JSON.stringify(expected)} of a chunk at ${position} when ${alreadyRead} bytes were read`, () => {
      assert.equal(unseenPart(chunk, position, alreadyRead).toString('utf8'), expected);
    });
  }
});
