import { type Compare, type CompareMode, DEFAULT_FLOAT_EPSILON } from './request.js';

// How a program's stdout is judged against the expected output. Every mode reads CRLF as LF, on
// either side, so answers written on Windows match programs that print '\n'.

export interface Comparison {
  matched: boolean;
  /** Where the first difference is, for a person; empty when matched. */
  difference: string;
}

export const DEFAULT_COMPARE: Compare = { mode: 'trimmed' };

const SHOWN_CHARS = 40;

function shown(text: string | undefined): string {
  if (text === undefined) return 'nothing';
  return JSON.stringify(text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text);
}

const toLf = (text: string) => text.replace(/\r\n/g, '\n');

/** Lines without trailing whitespace, trailing empty lines dropped. */
function trimmedLines(text: string): string[] {
  const lines = toLf(text)
    .split('\n')
    .map((line) => line.replace(/\s+$/, ''));
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

function tokens(text: string): string[] {
  return text.split(/\s+/).filter((token) => token !== '');
}

function compareLines(expected: string[], actual: string[]): Comparison {
  const count = Math.max(expected.length, actual.length);
  for (let index = 0; index < count; index++) {
    if (expected[index] !== actual[index]) {
      return {
        matched: false,
        difference: `line ${index + 1}: expected ${shown(expected[index])}, got ${shown(actual[index])}`,
      };
    }
  }
  return { matched: true, difference: '' };
}

function compareTokens(
  expected: string[],
  actual: string[],
  equal: (expected: string, actual: string) => boolean,
): Comparison {
  const count = Math.max(expected.length, actual.length);
  for (let index = 0; index < count; index++) {
    const want = expected[index];
    const got = actual[index];
    if (want === undefined || got === undefined || !equal(want, got)) {
      return {
        matched: false,
        difference: `token ${index + 1}: expected ${shown(want)}, got ${shown(got)}`,
      };
    }
  }
  return { matched: true, difference: '' };
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;

/** The number a token spells (decimal, or nan/inf in any case), else undefined. */
export function numberOf(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  const special = SPECIAL.exec(token);
  if (!special) return undefined;
  if (special[2]?.toLowerCase() === 'nan') return Number.NaN;
  return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** Numbers within epsilon, absolute or relative to the larger magnitude; NaN equals only NaN. */
export function floatsEqual(expected: number, actual: number, epsilon: number): boolean {
  if (Number.isNaN(expected) || Number.isNaN(actual)) return Number.isNaN(expected) && Number.isNaN(actual);
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return expected === actual;
  const difference = Math.abs(expected - actual);
  return difference <= epsilon || difference <= epsilon * Math.max(Math.abs(expected), Math.abs(actual));
}

function floatTokenEqual(epsilon: number) {
  return (expected: string, actual: string) => {
    if (expected === actual) return true;
    const want = numberOf(expected);
    const got = numberOf(actual);
    return want !== undefined && got !== undefined && floatsEqual(want, got, epsilon);
  };
}

const COMPARATORS: Record<CompareMode, (expected: string, actual: string, epsilon: number) => Comparison> = {
  exact: (expected, actual) => compareLines(toLf(expected).split('\n'), toLf(actual).split('\n')),
  trimmed: (expected, actual) => compareLines(trimmedLines(expected), trimmedLines(actual)),
  tokens: (expected, actual) => compareTokens(tokens(expected), tokens(actual), (a, b) => a === b),
  float: (expected, actual, epsilon) => compareTokens(tokens(expected), tokens(actual), floatTokenEqual(epsilon)),
};

export function compareOutput(expected: string, actual: string, compare: Compare = DEFAULT_COMPARE): Comparison {
  return COMPARATORS[compare.mode](expected, actual, compare.epsilon ?? DEFAULT_FLOAT_EPSILON);
}
