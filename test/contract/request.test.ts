import assert from 'node:assert/strict';
import { parseExecutionRequest } from '../../contract/index.js';

describe('parseExecutionRequest', () => {
  const valid = { runtime: 'python', source: 'print(1)' };

  it('should accept a request with source when nothing else is given', () => {
    const parsed = parseExecutionRequest(valid);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.runtime, 'python');
  });

  it('should accept files with plain names when they are unique', () => {
    const parsed = parseExecutionRequest({
      runtime: 'c',
      files: [
        { name: 'main.c', content: '' },
        { name: 'util_2.h', content: '' },
        { name: 'a+b.txt', content: '' },
      ],
    });
    assert.ok(parsed.ok);
  });

  it('should accept tests with compare and stopOnFirstFailure when no top-level input is given', () => {
    const parsed = parseExecutionRequest({
      ...valid,
      tests: [{ name: 'one', stdin: '1', expectedOutput: '1', args: ['-v'] }, {}],
      compare: { mode: 'float', epsilon: 1e-3 },
      stopOnFirstFailure: true,
      interactive: false,
      callbackUrl: 'http://127.0.0.1:9/done',
    });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error));
    assert.equal(parsed.value.tests?.length, 2);
  });

  const rejected: [string, unknown, string][] = [
    ['a body that is not an object', [], ''],
    ['a missing runtime', { source: 'x' }, 'runtime'],
    ['both source and files', { ...valid, files: [{ name: 'a', content: '' }] }, 'source'],
    ['neither source nor files', { runtime: 'python' }, 'source'],
    ['a file name with a parent path', { runtime: 'c', files: [{ name: '../../x', content: '' }] }, 'files[0].name'],
    ['an absolute file name', { runtime: 'c', files: [{ name: '/etc/passwd', content: '' }] }, 'files[0].name'],
    ['the file name .', { runtime: 'c', files: [{ name: '.', content: '' }] }, 'files[0].name'],
    ['a hidden file name', { runtime: 'c', files: [{ name: '.bashrc', content: '' }] }, 'files[0].name'],
    ['a file name with a NUL', { runtime: 'c', files: [{ name: 'a\0b', content: '' }] }, 'files[0].name'],
    [
      'a duplicate file name',
      {
        runtime: 'c',
        files: [
          { name: 'a.c', content: '' },
          { name: 'a.c', content: '' },
        ],
      },
      'files[1].name',
    ],
    ['an unknown field', { ...valid, network: true }, 'network'],
    ['an unknown limit', { ...valid, limits: { network: 1 } }, 'limits.network'],
    ['a negative limit', { ...valid, limits: { memoryMiB: -1 } }, 'limits.memoryMiB'],
    ['a fractional limit', { ...valid, limits: { pids: 1.5 } }, 'limits.pids'],
    ['a limit as a string', { ...valid, limits: { wallTimeMs: '1000' } }, 'limits.wallTimeMs'],
    ['source of the wrong type', { runtime: 'python', source: 42 }, 'source'],
    ['oversized stdin', { ...valid, stdin: 'x'.repeat(1024 * 1024 + 1) }, 'stdin'],
    ['an argument with a NUL', { ...valid, args: ['a\0'] }, 'args[0]'],
    ['interactive as a string', { ...valid, interactive: 'yes' }, 'interactive'],
    ['tests with top-level stdin', { ...valid, stdin: '1', tests: [{ stdin: '2' }] }, 'stdin'],
    ['tests with a top-level expectedOutput', { ...valid, expectedOutput: '1', tests: [{}] }, 'expectedOutput'],
    ['tests with interactive', { ...valid, interactive: true, tests: [{}] }, 'interactive'],
    ['an empty list of tests', { ...valid, tests: [] }, 'tests'],
    ['101 tests', { ...valid, tests: Array.from({ length: 101 }, () => ({})) }, 'tests'],
    ['an unknown field in a test', { ...valid, tests: [{ input: '1' }] }, 'tests[0].input'],
    [
      'tests whose input passes the bound together',
      { ...valid, tests: [{ stdin: 'x'.repeat(600 * 1024) }, { expectedOutput: 'y'.repeat(600 * 1024) }] },
      'tests',
    ],
    ['an unknown compare mode', { ...valid, compare: { mode: 'fuzzy' } }, 'compare.mode'],
    ['a negative epsilon', { ...valid, compare: { mode: 'float', epsilon: -1 } }, 'compare.epsilon'],
    ['a callbackUrl that is not http', { ...valid, callbackUrl: 'file:///etc/passwd' }, 'callbackUrl'],
    ['a callbackUrl that is no URL', { ...valid, callbackUrl: 'not a url' }, 'callbackUrl'],
  ];
  for (const [what, body, field] of rejected) {
    it(`should reject ${what} and name the field ${field || '(body)'}`, () => {
      const parsed = parseExecutionRequest(body);
      assert.ok(!parsed.ok, 'expected a rejection');
      assert.equal(parsed.error.field, field);
      assert.ok(parsed.error.message.length > 0);
    });
  }
});
