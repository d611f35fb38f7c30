import assert from 'node:assert/strict';
import { JUDGE0_LANGUAGES } from '../../../gateway/compat/judge0/languages.js';
import { statusOf } from '../../../gateway/compat/judge0/statuses.js';
import { readCatalog } from '../../../runtimes/catalog.js';

describe('Judge0 languages and statuses', () => {
  it('should give every runtime of the catalog a Judge0 language id when the catalog grows', () => {
    const missing = readCatalog()
      .runtimes.map((runtime) => runtime.name)
      .filter((name) => JUDGE0_LANGUAGES[name] === undefined);
    assert.deepEqual(missing, [], 'add these runtimes to gateway/compat/judge0/languages.ts');
  });

  it('should give each runtime its own id when two could be confused', () => {
    const ids = Object.values(JUDGE0_LANGUAGES).map((language) => language.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('should map signals and reasons onto Judge0 status ids when a run ends', () => {
    const ended = (reason: Parameters<typeof statusOf>[0]['reason'], signal: string | null = null) =>
      statusOf({ phase: 'Failed', reason, signal }).id;
    assert.equal(statusOf({ phase: 'Pending', reason: null, signal: null }).id, 1);
    assert.equal(statusOf({ phase: 'Running', reason: null, signal: null }).id, 2);
    assert.equal(statusOf({ phase: 'Succeeded', reason: 'Completed', signal: null }).id, 3);
    assert.equal(ended('WrongAnswer'), 4);
    assert.equal(ended('TimeLimitExceeded'), 5);
    assert.equal(ended('CompileError'), 6);
    assert.equal(ended('Signaled', 'SIGSEGV'), 7);
    assert.equal(ended('OutputLimitExceeded'), 8);
    assert.equal(ended('Signaled', 'SIGFPE'), 9);
    assert.equal(ended('Signaled', 'SIGABRT'), 10);
    assert.equal(ended('NonZeroExit'), 11);
    assert.equal(ended('Signaled', 'SIGKILL'), 12);
    assert.equal(ended('SystemError'), 13);
  });
});
