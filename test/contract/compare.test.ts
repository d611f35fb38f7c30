import assert from 'node:assert/strict';
import { compareOutput, floatsEqual, numberOf } from '../../contract/index.js';

describe('compareOutput', () => {
  describe('exact', () => {
    const exact = { mode: 'exact' } as const;
    it('should match when the texts are equal byte for byte', () => {
      assert.equal(compareOutput('1 2\n3\n', '1 2\n3\n', exact).matched, true);
    });
    it('should match when only CRLF and LF differ', () => {
      assert.equal(compareOutput('a\r\nb\r\n', 'a\nb\n', exact).matched, true);
      assert.equal(compareOutput('a\nb\n', 'a\r\nb\r\n', exact).matched, true);
    });
    it('should not match when a trailing space differs and name the line', () => {
      const comparison = compareOutput('a\nb\n', 'a\nb \n', exact);
      assert.equal(comparison.matched, false);
      assert.match(comparison.difference, /line 2: expected "b", got "b "/);
    });
    it('should not match when the final newline is missing', () => {
      assert.equal(compareOutput('a\n', 'a', exact).matched, false);
    });
    it('should match an empty expected output only with empty output', () => {
      assert.equal(compareOutput('', '', exact).matched, true);
      assert.equal(compareOutput('', '\n', exact).matched, false);
    });
  });

  describe('trimmed (the default)', () => {
    it('should ignore trailing spaces and tabs of each line when no mode is given', () => {
      assert.equal(compareOutput('a\nb\n', 'a  \nb\t\n').matched, true);
    });
    it('should ignore trailing empty lines and a missing final newline', () => {
      assert.equal(compareOutput('a\nb', 'a\nb\n\n\n').matched, true);
      assert.equal(compareOutput('a\nb\n\n', 'a\nb').matched, true);
    });
    it('should match when expected has CRLF and output has trailing spaces', () => {
      assert.equal(compareOutput('x y\r\nz\r\n', 'x y   \nz\n').matched, true);
    });
    it('should not ignore leading spaces or blank lines in the middle', () => {
      assert.equal(compareOutput('a\nb\n', ' a\nb\n').matched, false);
      assert.equal(compareOutput('a\nb\n', 'a\n\nb\n').matched, false);
    });
    it('should match an empty expected output with whitespace-only output', () => {
      assert.equal(compareOutput('', ' \n\n').matched, true);
      assert.equal(compareOutput('', 'x').matched, false);
    });
    it('should say nothing was written when output ends before the expected lines', () => {
      const comparison = compareOutput('a\nb\n', 'a\n');
      assert.equal(comparison.matched, false);
      assert.match(comparison.difference, /line 2: expected "b", got nothing/);
    });
  });

  describe('tokens', () => {
    const mode = { mode: 'tokens' } as const;
    it('should match when only the whitespace between tokens differs', () => {
      assert.equal(compareOutput('1 2 3\n', '1\n2\t\t3', mode).matched, true);
      assert.equal(compareOutput('1 2\r\n', '  1   2  ', mode).matched, true);
    });
    it('should not match a different or missing token and name it', () => {
      const comparison = compareOutput('1 2 3', '1 2', mode);
      assert.equal(comparison.matched, false);
      assert.match(comparison.difference, /token 3: expected "3", got nothing/);
      assert.equal(compareOutput('1 2', '1 2 3', mode).matched, false);
    });
    it('should compare numbers as text', () => {
      assert.equal(compareOutput('1.0', '1', mode).matched, false);
    });
    it('should match empty expected output with blank output', () => {
      assert.equal(compareOutput('', '\n \n', mode).matched, true);
    });
  });

  describe('float', () => {
    it('should match numbers within the default epsilon of 1e-6', () => {
      assert.equal(compareOutput('0.3333333', '0.33333334', { mode: 'float' }).matched, true);
      assert.equal(compareOutput('0.333', '0.334', { mode: 'float' }).matched, false);
    });
    it('should match just inside the epsilon and not just outside it', () => {
      assert.equal(compareOutput('1.0', '1.0009', { mode: 'float', epsilon: 1e-3 }).matched, true);
      assert.equal(compareOutput('0.0', '0.0011', { mode: 'float', epsilon: 1e-3 }).matched, false);
    });
    it('should accept a relative error for large numbers', () => {
      assert.equal(compareOutput('1000000000', '1000000500', { mode: 'float', epsilon: 1e-6 }).matched, true);
      assert.equal(compareOutput('1000000000', '1000002000', { mode: 'float', epsilon: 1e-6 }).matched, false);
    });
    it('should compare words that are not numbers exactly', () => {
      assert.equal(compareOutput('YES 1.5', 'YES 1.5000001', { mode: 'float' }).matched, true);
      assert.equal(compareOutput('YES 1.5', 'yes 1.5', { mode: 'float' }).matched, false);
      assert.equal(compareOutput('1.5', 'abc', { mode: 'float' }).matched, false);
    });
    it('should match NaN only with NaN, in any case', () => {
      assert.equal(compareOutput('nan', 'NaN', { mode: 'float' }).matched, true);
      assert.equal(compareOutput('nan', '0', { mode: 'float' }).matched, false);
      assert.equal(compareOutput('1', 'nan', { mode: 'float', epsilon: 1 }).matched, false);
    });
    it('should match infinities of the same sign only', () => {
      assert.equal(compareOutput('inf', 'Infinity', { mode: 'float' }).matched, true);
      assert.equal(compareOutput('-inf', 'inf', { mode: 'float' }).matched, false);
      assert.equal(compareOutput('1e308', 'inf', { mode: 'float' }).matched, false);
    });
    it('should read exponents and CRLF', () => {
      assert.equal(compareOutput('1.5e3\r\n', '1500.0000001\n', { mode: 'float' }).matched, true);
    });
  });
});

describe('numberOf', () => {
  it('should read decimals and exponents but not hex or words', () => {
    assert.equal(numberOf('-12.5e-1'), -1.25);
    assert.equal(numberOf('.5'), 0.5);
    assert.equal(numberOf('0x10'), undefined);
    assert.equal(numberOf('1,5'), undefined);
    assert.ok(Number.isNaN(numberOf('NAN')));
  });
});

describe('floatsEqual', () => {
  it('should treat the epsilon as inclusive', () => {
    assert.equal(floatsEqual(0, 0.5, 0.5), true);
  });
});
