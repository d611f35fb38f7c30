import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { JUDGE0_LANGUAGES } from '../../../gateway/compat/judge0/languages.js';
import { JUDGE0_STATUSES } from '../../../gateway/compat/judge0/statuses.js';
import { type CallbackReceiver, startCallbackReceiver } from '../../helpers/callback-receiver.js';
import { api } from '../../helpers/gateway.js';

// The Judge0 CE cases, driven by the official Python SDK and plain HTTP: the same on both backends
// (judge0.sandbox.test.ts, judge0.cluster.test.ts).

const run = promisify(execFile);
const CLIENT_SCRIPT = path.resolve('test/gateway/compat/judge0_client.py');

// Key sets of the answers in Judge0 CE 1.13's API documentation, to hold ours to the same shapes.
const DOC_SUBMISSION_KEYS = ['compile_output', 'memory', 'message', 'status', 'stderr', 'stdout', 'time', 'token'];
const DOC_LANGUAGE_KEYS = ['id', 'name'];
const DOC_STATUS_KEYS = ['description', 'id'];
const DOC_ABOUT_KEYS = ['homepage', 'maintainer', 'source_code', 'version'];
const DOC_CONFIG_KEYS = [
  'allow_enable_network',
  'allow_enable_per_process_and_thread_memory_limit',
  'allow_enable_per_process_and_thread_time_limit',
  'allowed_languages_for_compile_options',
  'callbacks_max_tries',
  'callbacks_timeout',
  'cpu_extra_time',
  'cpu_time_limit',
  'enable_additional_files',
  'enable_batched_submissions',
  'enable_callbacks',
  'enable_command_line_arguments',
  'enable_compiler_options',
  'enable_network',
  'enable_per_process_and_thread_memory_limit',
  'enable_per_process_and_thread_time_limit',
  'enable_submission_delete',
  'enable_wait_result',
  'maintenance_mode',
  'max_cpu_extra_time',
  'max_cpu_time_limit',
  'max_extract_size',
  'max_file_size',
  'max_max_file_size',
  'max_max_processes_and_or_threads',
  'max_memory_limit',
  'max_number_of_runs',
  'max_processes_and_or_threads',
  'max_queue_size',
  'max_stack_limit',
  'max_submission_batch_size',
  'max_wall_time_limit',
  'memory_limit',
  'number_of_runs',
  'redirect_stderr_to_stdout',
  'stack_limit',
  'submission_cache_duration',
  'use_docs_as_homepage',
  'wall_time_limit',
];

const sortedKeys = (value: unknown) => Object.keys(value as object).sort();

interface SeenSubmission {
  token: string;
  status: number;
  stdout: string | null;
  stderr: string | null;
  compile_output: string | null;
  exit_code: number | null;
  time: number | null;
  memory: number | null;
}

interface SdkReport {
  languages: { id: number; name: string }[];
  config_max_batch: number;
  about_version: string;
  statuses: { id: number; description: string }[];
  language_71: string;
  run: SeenSubmission;
  compile_error: SeenSubmission;
  time_limit: SeenSubmission;
  judged: SeenSubmission[];
}

/** The judge tenant's callback settings, for the gateways of both backends. */
export const JUDGE0_TENANT = {
  name: 'judge',
  callbackHosts: ['127.0.0.1'],
  callbackSecret: 'judge0-callback-secret-0123',
};
/** Retries come quickly in the tests. */
export const JUDGE0_CALLBACKS = { initialBackoffMs: 200 };

export interface Judge0Context {
  /** The gateway's base URL. */
  url(): string;
  /** A tenant's token (its tenant is named in `settled`). */
  token: string;
  /** The test venv's python, with the Judge0 SDK. */
  python(): string;
  /** Resolves when the submission with this token has ended. */
  settled(token: string): Promise<void>;
}

export function judge0Cases(context: Judge0Context): void {
  const judge0 = (pathAndQuery: string, init: Parameters<typeof api>[2] = {}) =>
    api(`${context.url()}/judge0${pathAndQuery}`, context.token, init);
  let receiver: CallbackReceiver | undefined;

  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('should run, compile, time out and judge test cases when driven by the official Python SDK', async () => {
    const { stdout } = await run(context.python(), [CLIENT_SCRIPT, `${context.url()}/judge0`, context.token], {
      timeout: 150_000,
    });
    const report = JSON.parse(stdout) as SdkReport;
    // Every runtime the gateway serves, under its Judge0 id, in Judge0's order (by id).
    const runtimes = await api(`${context.url()}/api/v1/runtimes`, context.token);
    const served = (runtimes.body as { name: string }[]).map(({ name }) => JUDGE0_LANGUAGES[name]?.id);
    assert.ok(served.includes(71), 'the gateway serves python');
    assert.deepEqual(
      report.languages.map((language) => language.id),
      served.sort((a, b) => (a ?? 0) - (b ?? 0)),
    );
    assert.equal(report.about_version, '1.13.1');
    assert.equal(report.config_max_batch, 100);
    assert.deepEqual(report.statuses, JUDGE0_STATUSES);
    assert.match(report.language_71, /^Python \(3\./);

    assert.equal(report.run.status, 3);
    assert.equal(report.run.stdout, 'hi sandpod\n');
    assert.equal(report.run.exit_code, 0);
    assert.equal(typeof report.run.time, 'number');
    assert.ok((report.run.memory ?? 0) > 0, 'memory is reported in kilobytes');

    assert.equal(report.compile_error.status, 6);
    assert.match(report.compile_error.compile_output ?? '', /error/);

    assert.equal(report.time_limit.status, 5);

    assert.deepEqual(
      report.judged.map((submission) => submission.status),
      [3, 4],
    );
    assert.equal(report.judged[1]?.stdout, '6\n');
  });

  it('should answer in the shapes of Judge0 documentation when asked over plain HTTP', async () => {
    const languages = await judge0('/languages');
    assert.equal(languages.status, 200);
    for (const language of languages.body as unknown[]) assert.deepEqual(sortedKeys(language), DOC_LANGUAGE_KEYS);
    const statuses = await judge0('/statuses');
    for (const status of statuses.body as unknown[]) assert.deepEqual(sortedKeys(status), DOC_STATUS_KEYS);
    assert.deepEqual(sortedKeys((await judge0('/about')).body), DOC_ABOUT_KEYS);
    assert.deepEqual(sortedKeys((await judge0('/config_info')).body), DOC_CONFIG_KEYS);

    const created = await judge0('/submissions?wait=true', {
      body: { source_code: 'echo "$1"; echo oops >&2', language_id: 46, command_line_arguments: "'two words'" },
    });
    assert.equal(created.status, 201);
    const submission = created.body as Record<string, unknown>;
    assert.deepEqual(sortedKeys(submission), DOC_SUBMISSION_KEYS);
    assert.equal(submission.stdout, 'two words\n');
    assert.equal(submission.stderr, 'oops\n');
    assert.deepEqual(submission.status, { id: 3, description: 'Accepted' });
    assert.equal(typeof submission.time, 'string');

    const encoded = await judge0(
      `/submissions/${String(submission.token)}?base64_encoded=true&fields=stdout,exit_code`,
    );
    assert.deepEqual(encoded.body, { stdout: Buffer.from('two words\n').toString('base64'), exit_code: 0 });
  });

  it('should put the files of additional_files beside the source when a submission brings a zip', async () => {
    const zip = Buffer.from(zipSync({ 'data.txt': strToU8('21\n') })).toString('base64');
    const created = await judge0('/submissions?wait=true&base64_encoded=true', {
      body: {
        source_code: Buffer.from('print(int(open("data.txt").read()) * 2)').toString('base64'),
        language_id: 71,
        additional_files: zip,
        expected_output: Buffer.from('42').toString('base64'),
      },
    });
    const submission = created.body as { stdout: string; status: { id: number } };
    assert.equal(Buffer.from(submission.stdout, 'base64').toString(), '42\n');
    assert.equal(submission.status.id, 3);

    const broken = await judge0('/submissions', {
      body: { source_code: 'print(1)', language_id: 71, additional_files: 'bm90IGEgemlw' },
    });
    assert.deepEqual(broken.body, { additional_files: ['is not a base64-encoded zip archive'] });
  });

  it('should start a batch item by item and read it back by tokens when a client sends several', async () => {
    const created = await judge0('/submissions/batch', {
      body: {
        submissions: [
          { source_code: 'print(6 * 7)', language_id: 71 },
          { source_code: 'print(1)', language_id: 71, enable_network: true },
          { source_code: 'console.log("js")', language_id: 63 },
        ],
      },
    });
    assert.equal(created.status, 201);
    const items = created.body as Record<string, unknown>[];
    assert.deepEqual(Object.keys(items[1] ?? {}), ['enable_network']);
    const tokens = [items[0]?.token, items[2]?.token];
    assert.ok(tokens.every((token) => typeof token === 'string'));
    await Promise.all(tokens.map((token) => context.settled(String(token))));
    const read = await judge0(`/submissions/batch?tokens=${tokens.join(',')}&fields=token,stdout,status_id`);
    const { submissions } = read.body as { submissions: { token: string; stdout: string; status_id: number }[] };
    assert.deepEqual(
      submissions.map((item) => [item.token, item.stdout, item.status_id]),
      [
        [tokens[0], '42\n', 3],
        [tokens[1], 'js\n', 3],
      ],
    );
  });

  it('should run a submission number_of_runs times and report their average when asked for several', async () => {
    const created = await judge0('/submissions?wait=true&fields=stdout,status,time,memory', {
      body: {
        source_code: 'print(input())',
        language_id: 71,
        stdin: 'again',
        expected_output: 'again',
        number_of_runs: 3,
      },
    });
    const submission = created.body as { stdout: string; status: { id: number }; time: string; memory: number };
    assert.equal(submission.stdout, 'again\n');
    assert.equal(submission.status.id, 3);
    assert.ok(Number(submission.time) >= 0 && submission.memory > 0, JSON.stringify(submission));
    const tooMany = await judge0('/submissions', {
      body: { source_code: 'print(1)', language_id: 71, number_of_runs: 21 },
    });
    assert.deepEqual(tooMany.body, { number_of_runs: ['must be less than or equal to 20'] });
  });

  it("should PUT Judge0's submission to callback_url, again after a 500, when a submission ends", async () => {
    receiver = await startCallbackReceiver([500]);
    const created = await judge0('/submissions', {
      body: { source_code: 'print("called back")', language_id: 71, callback_url: receiver.url },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { token } = created.body as { token: string };

    const delivered = await receiver.delivered();

    assert.deepEqual(
      receiver.received.map((callback) => [callback.method, callback.status]),
      [
        ['PUT', 500],
        ['PUT', 200],
      ],
    );
    assert.equal(delivered.headers['content-type'], 'application/json');
    const expected = `sha256=${createHmac('sha256', JUDGE0_TENANT.callbackSecret).update(delivered.body).digest('hex')}`;
    assert.equal(delivered.headers['x-sandpod-signature'], expected);
    // Judge0 sends the submission's default attributes, base64-encoded.
    const submission = JSON.parse(delivered.body) as Record<string, unknown>;
    assert.deepEqual(sortedKeys(submission), DOC_SUBMISSION_KEYS);
    assert.equal(submission.token, token);
    assert.equal(Buffer.from(String(submission.stdout), 'base64').toString(), 'called back\n');
    assert.deepEqual(submission.status, { id: 3, description: 'Accepted' });

    const config = (await judge0('/config_info')).body as Record<string, unknown>;
    assert.equal(config.enable_callbacks, true);
    assert.ok(Number(config.callbacks_max_tries) > 1, JSON.stringify(config));
    const elsewhere = await judge0('/submissions', {
      body: { source_code: 'print(1)', language_id: 71, callback_url: 'http://127.0.0.2:9/hook' },
    });
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(Object.keys(elsewhere.body as object), ['callback_url']);
  });

  it('should refuse what it cannot honour with Judge0 error shapes when a submission asks for it', async () => {
    const network = await judge0('/submissions', {
      body: { source_code: 'print(1)', language_id: 71, enable_network: true },
    });
    assert.equal(network.status, 422);
    assert.deepEqual(Object.keys(network.body as object), ['enable_network']);

    const tooLong = await judge0('/submissions', {
      body: { source_code: 'print(1)', language_id: 71, cpu_time_limit: 1000 },
    });
    assert.equal(tooLong.status, 422);
    assert.deepEqual(tooLong.body, { cpu_time_limit: ['must be less than or equal to 30'] });

    const unknownLanguage = await judge0('/submissions', { body: { source_code: 'x', language_id: 9999 } });
    assert.equal(unknownLanguage.status, 422);
    assert.ok('language_id' in (unknownLanguage.body as object));

    const missing = await judge0('/submissions', { body: { language_id: 71 } });
    assert.deepEqual(missing.body, { source_code: ["can't be blank"] });

    const anonymous = await api(`${context.url()}/judge0/languages`, undefined);
    assert.equal(anonymous.status, 401);
  });
}
