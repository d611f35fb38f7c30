import assert from 'node:assert/strict';
import { decodeWaitStatus, encodeFrame } from '../../sandbox/spawner.js';

describe('spawner protocol', () => {
  describe('decodeWaitStatus', () => {
    const cases: [string, number, ReturnType<typeof decodeWaitStatus>][] = [
      ['exit 0', 0, { code: 0, signal: null }],
      ['exit 3', 3 << 8, { code: 3, signal: null }],
      ['exit 255', 255 << 8, { code: 255, signal: null }],
      ['SIGKILL', 9, { code: null, signal: 'SIGKILL' }],
      ['SIGSEGV with a core dump', 11 | 0x80, { code: null, signal: 'SIGSEGV' }],
      ['SIGTERM', 15, { code: null, signal: 'SIGTERM' }],
    ];
    for (const [name, status, expected] of cases) {
      it(`should read ${name} from wait status ${status}`, () => {
        assert.deepEqual(decodeWaitStatus(status), expected);
      });
    }
  });

  describe('encodeFrame', () => {
    it('should prefix NUL-terminated fields with their byte length, little-endian', () => {
      const frame = encodeFrame(['run', '7', '', 'é']);
      const payload = Buffer.from('run\x007\x00\x00é\x00');
      assert.equal(frame.readUInt32LE(0), payload.length);
      assert.deepEqual(frame.subarray(4), payload);
    });
  });
});
