import assert from 'node:assert/strict';
import { DEFAULT_LIMIT_POLICY, type ExecutionResult, type RuntimeInfo } from '../../../contract/index.js';
import { translateSubmission } from '../../../gateway/compat/judge0/submission-request.js';
import { submissionView } from '../../../gateway/compat/judge0/submission-response.js';
import { translateExecute } from '../../../gateway/compat/piston/execute-request.js';
import { matchRuntime } from '../../../gateway/compat/piston/runtimes.js';
import { ApiError } from '../../../gateway/errors.js';

const RUNTIMES: RuntimeInfo[] = [
  { name: 'python', version: '3.11.2', aliases: ['py'], compiled: false, fileName: 'main.py' },
  { name: 'c', version: '12.2.0', aliases: ['gcc'], compiled: true, fileName: 'main.c' },
];
const judge0 = (body: Record<string, unknown>, base64 = false) =>
  translateSubmission(body, { base64, runtimes: RUNTIMES, limits: DEFAULT_LIMIT_POLICY }).request;
const refused = (run: () => unknown): ApiError => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('the request was accepted');
};

describe('Judge0 and Piston request translation', () => {
  it('should turn Judge0 seconds and kilobytes into sandpod limits when a submission gives them', () => {
    const request = judge0({
      source_code: 'print(1)',
      language_id: 71,
      cpu_time_limit: 1.5,
      wall_time_limit: 3,
      memory_limit: 128_000,
      max_processes_and_or_threads: 8,
      max_file_size: 64,
      command_line_arguments: `a 'b c' "d"`,
    });
    assert.deepEqual(request, {
      runtime: 'python',
      source: 'print(1)',
      limits: { cpuTimeMs: 1500, wallTimeMs: 3000, memoryMiB: 125, pids: 8, outputBytes: 65_536 },
      args: ['a', 'b c', 'd'],
    });
  });

  it('should decode base64 attributes and judge trimmed when base64_encoded is asked', () => {
    const request = judge0(
      { source_code: Buffer.from('x').toString('base64'), language_id: 50, expected_output: 'NDI=', stdin: null },
      true,
    );
    assert.equal(request.source, 'x');
    assert.equal(request.runtime, 'c');
    assert.equal(request.expectedOutput, '42');
    assert.deepEqual(request.compare, { mode: 'trimmed' });
    assert.equal(refused(() => judge0({ source_code: '%%%', language_id: 71 }, true)).field, 'source_code');
  });

  it('should refuse shell syntax in command_line_arguments and limits above the maximum', () => {
    const piped = refused(() => judge0({ source_code: 'x', language_id: 71, command_line_arguments: 'a | b' }));
    assert.equal(piped.field, 'command_line_arguments');
    const memory = refused(() => judge0({ source_code: 'x', language_id: 71, memory_limit: 2_000_000 }));
    assert.equal(memory.message, 'must be less than or equal to 1048576');
  });

  it('should match Piston versions as semver ranges when a request names one', () => {
    assert.equal(matchRuntime(RUNTIMES, 'py', '3.x')?.name, 'python');
    assert.equal(matchRuntime(RUNTIMES, 'python', '>=3.12'), undefined);
    assert.equal(matchRuntime(RUNTIMES, 'gcc', '*')?.name, 'c');
  });

  it('should turn a Piston request into a sandpod one when files, hex and limits are given', () => {
    const { request, language, version } = translateExecute(
      {
        language: 'py',
        version: '3',
        files: [
          { name: 'app.py', content: Buffer.from('import lib').toString('hex'), encoding: 'hex' },
          { content: 'y = 2' },
        ],
        stdin: 'in',
        args: ['1'],
        run_timeout: 2500,
        run_memory_limit: -1,
      },
      RUNTIMES,
      DEFAULT_LIMIT_POLICY,
    );
    assert.equal(language, 'python');
    assert.equal(version, '3.11.2');
    assert.deepEqual(request, {
      runtime: 'python',
      files: [
        { name: 'main.py', content: 'import lib' },
        { name: 'file1.code', content: 'y = 2' },
      ],
      stdin: 'in',
      args: ['1'],
      limits: { wallTimeMs: 2500 },
    });
    const tooMuch = refused(() =>
      translateExecute(
        { language: 'python', version: '*', files: [{ content: '' }], run_memory_limit: 2 ** 40 },
        RUNTIMES,
        DEFAULT_LIMIT_POLICY,
      ),
    );
    assert.equal(tooMuch.message, 'run_memory_limit cannot exceed the configured limit of 1073741824');
  });
});

describe('Judge0 submission view', () => {
  const result = {
    id: 'ex-1',
    runtime: 'python',
    phase: 'Succeeded',
    reason: 'Completed',
    message: '',
    exitCode: 0,
    signal: null,
    stdout: 'hi\n',
    stderr: '',
    // Kubernetes keeps an Execution's creation time to the second.
    createdAt: '2026-12-06T16:38:36Z',
    finishedAt: '2026-12-06T16:38:39.250Z',
    usage: { cpuTimeMs: 12, wallTimeMs: 30, memoryPeakMiB: 4 },
  } as unknown as ExecutionResult;

  it('should write times with milliseconds as Judge0 does when the result has whole seconds', () => {
    const view = submissionView(result, ['created_at', 'finished_at'], false);

    // The official SDK parses only %Y-%m-%dT%H:%M:%S.%fZ.
    assert.deepEqual(view, { created_at: '2026-12-06T16:38:36.000Z', finished_at: '2026-12-06T16:38:39.250Z' });
  });
});
