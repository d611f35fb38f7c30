import assert from 'node:assert/strict';
import { chunksOf } from '../../../gateway/socket/flow-control.js';

describe('chunksOf', () => {
  it('should give pieces of at most the size that join to the text when the text is long', () => {
    const text = 'abcdefghij'.repeat(1000);
    const pieces = [...chunksOf(text, 300)];
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.every((piece) => piece.length <= 300));
    assert.equal(pieces.length, Math.ceil(text.length / 300));
  });

  it('should never split a surrogate pair when a cut falls inside one', () => {
    const text = `${'a'.repeat(299)}😀${'b'.repeat(10)}`;
    const pieces = [...chunksOf(text, 300)];
    assert.equal(pieces.join(''), text);
    // A lone half of a pair would come out of UTF-8 encoding as U+FFFD.
    for (const piece of pieces) assert.equal(Buffer.from(piece, 'utf8').toString('utf8'), piece);
  });

  it('should give nothing when the text is empty', () => {
    assert.deepEqual([...chunksOf('', 300)], []);
  });
});
