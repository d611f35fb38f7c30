import assert from 'node:assert/strict';
import { strToU8, zipSync } from 'fflate';
import { REQUEST_BOUNDS } from '../../../contract/index.js';
import { additionalFiles } from '../../../gateway/compat/judge0/additional-files.js';
import { ApiError } from '../../../gateway/errors.js';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const refusal = (zip: string) => {
  try {
    additionalFiles(zip);
  } catch (error) {
    assert.ok(error instanceof ApiError);
    assert.equal(error.field, 'additional_files');
    return error.message;
  }
  assert.fail('the archive was accepted');
};

describe('Judge0 additional_files', () => {
  it('should unpack the plain files of a zip when it is well formed', () => {
    const zip = zipSync({ 'a.txt': strToU8('alpha'), 'b.py': [strToU8('x = 1\n'), { level: 0 }] });
    assert.deepEqual(additionalFiles(base64(zip)), [
      { name: 'a.txt', content: 'alpha' },
      { name: 'b.py', content: 'x = 1\n' },
    ]);
  });

  it('should stop inflating past the bound when a zip unpacks to more than sources may hold', () => {
    const bomb = zipSync({ 'bomb.txt': [new Uint8Array(REQUEST_BOUNDS.sourceBytes * 8), { level: 9 }] });
    assert.ok(bomb.length < 10_000, 'the bomb is small when packed');
    assert.match(refusal(base64(bomb)), /larger than/);
  });

  it('should refuse folders, binary files and what is no zip when a client sends them', () => {
    assert.match(refusal(base64(zipSync({ 'dir/a.txt': strToU8('a') }))), /top of the zip/);
    assert.match(refusal(base64(zipSync({ 'bin.dat': new Uint8Array([0xff, 0xfe, 0x00]) }))), /not UTF-8/);
    assert.match(refusal(Buffer.from('not a zip').toString('base64')), /not a base64-encoded zip/);
  });
});
