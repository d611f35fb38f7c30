import assert from 'node:assert/strict';
import { request } from 'node:http';
import fc from 'fast-check';
import type { ExecutionResult } from '../../../contract/index.js';
import { type EmbeddedFixture, startEmbedded, testConfig } from '../../helpers/embedded.js';
import { FuzzTally, fuzzParameters, watchProcessFailures } from '../../helpers/fuzz.js';
import { type RunningGateway, sha256Hex, startGateway } from '../../helpers/gateway.js';

// Property-based fuzzing of the REST API on a real embedded gateway over loopback: bodies, query
// strings and headers that are wrong in every way fast-check can think of, and requests that are
// valid but for one field. Whatever comes in, the answer is a 4xx with the one error shape (the
// field at fault named when a field is at fault), or a success; never a 5xx, a hang, an unhandled
// rejection or a crash. Accepted executions are cancelled at once and one runs at a time, so
// nearly all of them end before a sandbox starts; the suite counts those that did run.

const TOKEN = 'fuzz-token-0123456789';
const REQUEST_TIMEOUT_MS = 15_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** node:http rather than fetch: it sends odd headers and bytes that fetch refuses to. */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = request(`${base}${path}`, { method, headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    sent.on('timeout', () => sent.destroy(new Error(`no answer to ${method} ${path} within ${REQUEST_TIMEOUT_MS} ms`)));
    sent.on('error', reject);
    sent.end(body);
  });
}

/** Percent-encodes every byte of the UTF-8 form, lone surrogates included (as U+FFFD). */
const percentEncode = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');

const ALLOWED_STATUSES = new Set([200, 202, 400, 401, 404, 405, 409, 413, 415, 429]);

/** The contract's error shape for any 4xx; returns the parsed error. */
function assertAnswer(answer: Answer, what: string): { code: string; message: string; field?: string } | undefined {
  assert.ok(ALLOWED_STATUSES.has(answer.status), `${what}: status ${answer.status} ${answer.text.slice(0, 500)}`);
  if (answer.status < 400) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    assert.fail(`${what}: status ${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}`);
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } }).error;
  assert.equal(typeof error?.code, 'string', `${what}: no error.code in ${answer.text.slice(0, 200)}`);
  assert.equal(typeof error?.message, 'string', `${what}: no error.message`);
  if (error?.field !== undefined) assert.equal(typeof error.field, 'string', `${what}: error.field not a string`);
  if (answer.status === 429) assert.ok(answer.headers['retry-after'], `${what}: 429 without Retry-After`);
  return error as { code: string; message: string; field?: string };
}

const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\uFEFF', '\u202E', '..', '../..', '%00', 'null', '__proto__', 'constructor'),
  fc.string({ unit: fc.constantFrom('\uD800', '\uDFFF', '\u0085', '\u2028', 'é', '𝕏', '\u0301'), maxLength: 20 }),
);

const oddNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, -1e-308, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 0.5),
);

/** Any JSON value, with the odd strings and numbers above inside. */
const oddJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    oddText,
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(oddText, fc.constantFrom('runtime', 'source', 'files', 'limits', 'stdin', 'args')),
      tie('value'),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

/** A request the gateway accepts; the fuzzer breaks one field of it. */
const VALID: Record<string, unknown> = {
  runtime: 'bash',
  source: 'true',
  stdin: '',
  args: ['a'],
  limits: { wallTimeMs: 2000, memoryMiB: 64, outputBytes: 1000, pids: 16, cpuTimeMs: 1000, diskMiB: 8 },
  interactive: false,
};

/** Values each field must refuse. */
const BROKEN: Record<string, fc.Arbitrary<unknown>> = {
  runtime: fc.oneof(
    fc.constantFrom('', 'x'.repeat(65), 'no-such-runtime', ' bash'),
    fc.integer(),
    fc.constant(null),
    fc.array(fc.string()),
  ),
  source: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant({})),
  stdin: fc.oneof(fc.integer(), fc.constant(null), fc.boolean()),
  args: fc.oneof(
    fc.string(),
    fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
    fc.constant(['a\u0000b']),
    fc.constant(Array.from({ length: 65 }, () => 'x')),
  ),
  limits: fc.oneof(
    fc.record({ wallTimeMs: fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.constant(1e12)) }),
    fc.record({ memoryMiB: fc.oneof(fc.constant('64'), fc.constant(-1), fc.constant(1 << 30)) }),
    fc.record({ unknownLimit: fc.integer() }),
    fc.constant('fast'),
  ),
  interactive: fc.oneof(fc.constant('yes'), fc.integer(), fc.constant(null)),
  files: fc.oneof(
    fc.constant([{ name: '../etc/passwd', content: 'x' }]),
    fc.constant([{ name: '.hidden', content: 'x' }]),
    fc.constant([]),
    fc.record({ name: fc.string(), content: fc.string() }).map((file) => [file, file]),
  ),
  extra_field: fc.anything().filter((value) => value !== undefined),
};

describe('REST API fuzzing', function () {
  this.timeout(300_000);
  let fixture: EmbeddedFixture;
  let running: RunningGateway;
  let base: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const tally = new FuzzTally();
  const watch = watchProcessFailures();
  const accepted: string[] = [];

  before(async () => {
    const config = testConfig(
      {
        tenants: [
          { name: 'fuzz', tokenSha256: [sha256Hex(TOKEN)], maxConcurrent: 256, ratePerSecond: 10_000, burst: 10_000 },
        ],
        http: { bodyLimitBytes: 256 * 1024, cancelWaitMs: 50, maxWaitMs: 5_000 },
      },
      { maxRunning: 1, maxQueued: 256 },
    );
    fixture = await startEmbedded(config);
    running = await startGateway(config, fixture.backend);
    base = running.url;
  });

  after(async () => {
    watch.stop();
    tally.print('REST fuzz');
    await running?.close();
    await fixture?.close();
  });

  /** Cancels what was accepted, so that it never (or only briefly) runs, and counts those that ran. */
  const cancelAccepted = async (answer: Answer) => {
    if (answer.status !== 202 && answer.status !== 200) return;
    const { id } = JSON.parse(answer.text) as { id: string };
    accepted.push(id);
    const cancelled = await send(base, 'DELETE', `/api/v1/executions/${encodeURIComponent(id)}`, auth);
    assertAnswer(cancelled, 'DELETE of an accepted execution');
  };

  it('should answer any JSON body to POST /executions with a success or a 4xx in the error shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        oddJson,
        fc.constantFrom('', '?wait=false', '?wait=1', '?wait=%ZZ', '?wait[]=1&wait=2'),
        async (body, query) => {
          const answer = await send(
            base,
            'POST',
            `/api/v1/executions${query}`,
            { ...auth, 'content-type': 'application/json' },
            JSON.stringify(body),
          );
          tally.add(`body:${answer.status}`);
          assertAnswer(answer, `POST ${JSON.stringify(body).slice(0, 200)}`);
          await cancelAccepted(answer);
        },
      ),
      fuzzParameters(300),
    );
  });

  it('should accept valid requests with odd contents and bring each to an end', async () => {
    const validOdd = fc.record(
      {
        runtime: fc.constantFrom('bash', 'python', 'sh', 'python3'),
        source: oddText.map((text) => `# ${text.replace(/[\r\n\u2028\u2029\u0085]/g, ' ')}\nexit 0`),
        stdin: oddText,
        args: fc.array(
          oddText.map((text) => text.replaceAll('\u0000', '')),
          { maxLength: 3 },
        ),
        limits: fc.record(
          { wallTimeMs: fc.integer({ min: 1, max: 3000 }), pids: fc.integer({ min: 1, max: 64 }) },
          { requiredKeys: [] },
        ),
        interactive: fc.boolean(),
      },
      { requiredKeys: ['runtime', 'source'] },
    );
    await fc.assert(
      fc.asyncProperty(validOdd, async (body) => {
        const answer = await send(
          base,
          'POST',
          '/api/v1/executions',
          { ...auth, 'content-type': 'application/json' },
          JSON.stringify(body),
        );
        tally.add(`valid:${answer.status}`);
        assertAnswer(answer, `valid POST ${JSON.stringify(body).slice(0, 200)}`);
        assert.equal(answer.status, 202, answer.text);
        await cancelAccepted(answer);
      }),
      fuzzParameters(40),
    );
  });

  it('should name the broken field when a valid request has one field broken', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...Object.keys(BROKEN))
          .chain((field) => (BROKEN[field] as fc.Arbitrary<unknown>).map((value) => ({ field, value }))),
        async ({ field, value }) => {
          const body: Record<string, unknown> = { ...VALID, [field]: value };
          if (field === 'files') delete body.source;
          const answer = await send(
            base,
            'POST',
            '/api/v1/executions',
            { ...auth, 'content-type': 'application/json' },
            JSON.stringify(body),
          );
          tally.add(`one-field:${answer.status}`);
          const error = assertAnswer(answer, `POST with ${field}=${JSON.stringify(value)?.slice(0, 100)}`);
          await cancelAccepted(answer);
          assert.equal(answer.status, 400, `${field}=${JSON.stringify(value)?.slice(0, 100)} was not refused`);
          assert.ok(
            error?.field === field || error?.field?.startsWith(`${field}.`) || error?.field?.startsWith(`${field}[`),
            `${field}=${JSON.stringify(value)?.slice(0, 100)}: error names ${JSON.stringify(error?.field)}`,
          );
        },
      ),
      fuzzParameters(200),
    );
  });

  it('should refuse raw bodies that are not JSON, too deep or too large with a 4xx', async () => {
    const rawBody = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.integer({ min: 1, max: 200_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
      fc.integer({ min: 1, max: 100_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
      fc.constantFrom(
        '{"runtime":"bash","source":"true"',
        '{"__proto__":{"runtime":"bash"}}',
        '{}{}',
        '\uFEFF{}',
        'null',
      ),
      fc.constant('x'.repeat(300 * 1024)),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset="',
      '',
    );
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, async (body, type) => {
        const headers: Record<string, string> = { ...auth };
        if (type) headers['content-type'] = type;
        const answer = await send(base, 'POST', '/api/v1/executions', headers, body);
        tally.add(`raw:${answer.status}`);
        assertAnswer(answer, `raw POST (${type}) ${String(body).slice(0, 80)}`);
        await cancelAccepted(answer);
      }),
      fuzzParameters(150),
    );
  });

  it('should answer GET and DELETE of any id and query with 404 or 400, never a 5xx', async () => {
    const rawPath = fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,60}$/);
    const id = fc.oneof(
      oddText.map(percentEncode),
      rawPath,
      fc.constantFrom('%', '%E0%A4%A', '%C0%AF', '..%2F..%2Fetc', '%00'),
    );
    const query = fc.oneof(
      fc.constant(''),
      rawPath.map((text) => `?${text}`),
      fc.constantFrom('?wait=true', '?ids=a,b', '?a[b][c][d]=1'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH'), id, query, async (method, path, search) => {
        const answer = await send(base, method, `/api/v1/executions/${path}${search}`, auth);
        tally.add(`id:${method}:${answer.status}`);
        assertAnswer(answer, `${method} /api/v1/executions/${path}${search}`);
        assert.ok(answer.status >= 400, `${method} of a made-up id answered ${answer.status}`);
      }),
      fuzzParameters(300),
    );
  });

  it('should answer /limits, /runtimes and /executions with odd headers with a success, 401 or 4xx', async () => {
    const headerValue = fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,80}$/);
    const authorization = fc.oneof(
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(`bearer ${TOKEN}`),
      fc.constant(`Bearer  ${TOKEN}`),
      fc.constant('Bearer'),
      fc.constant('Basic Zm9vOmJhcg=='),
      headerValue.map((value) => `Bearer ${value}`),
      headerValue,
    );
    const extra = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerValue, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/limits', '/api/v1/runtimes', '/api/v1/executions', '/api/v1/executions/x'),
        fc.option(authorization, { nil: undefined }),
        extra,
        async (path, authValue, headers) => {
          const all: Record<string, string> = { ...headers };
          if (authValue !== undefined) all.authorization = authValue;
          delete all['content-length'];
          delete all['transfer-encoding'];
          delete all.host;
          delete all.expect;
          delete all.connection;
          let answer: Answer;
          try {
            answer = await send(base, 'GET', path, all);
          } catch (error) {
            // node:http itself refuses a header it cannot send; that is no request to the gateway.
            if ((error as NodeJS.ErrnoException).code === 'ERR_INVALID_CHAR') return;
            throw error;
          }
          tally.add(`headers:${answer.status}`);
          assertAnswer(answer, `GET ${path} with ${JSON.stringify(all).slice(0, 200)}`);
          // The scheme is case-blind and the token may have spaces around it (RFC 7235).
          const token = /^Bearer\s+(\S+)\s*$/i.exec(authValue ?? '')?.[1];
          if (token !== TOKEN) {
            assert.ok(
              answer.status === 401 || answer.status === 404 || answer.status === 400,
              `${authValue}: ${answer.status}`,
            );
          }
        },
      ),
      fuzzParameters(300),
    );
  });

  it('should still run a program and have no unhandled rejection after all of it', async () => {
    const answer = await send(
      base,
      'POST',
      '/api/v1/executions?wait=true',
      { ...auth, 'content-type': 'application/json' },
      JSON.stringify({ runtime: 'python', source: 'print("still here")' }),
    );
    assert.equal(answer.status, 200, answer.text);
    assert.equal((JSON.parse(answer.text) as ExecutionResult).stdout, 'still here\n');
    // Every accepted execution reached its end: none is stuck, and the count of those that ran is known.
    for (const id of accepted) {
      const result = await send(base, 'GET', `/api/v1/executions/${encodeURIComponent(id)}?wait=true`, auth);
      const body = JSON.parse(result.text) as ExecutionResult;
      if (body.phase !== 'Succeeded' && body.phase !== 'Failed') {
        const done = await fixture.backend.wait('fuzz', id);
        assert.ok(done, `execution ${id} vanished`);
      }
      const final = (await fixture.backend.get('fuzz', id)) as ExecutionResult;
      tally.add(final.message === 'cancelled before it started' ? 'accepted:never-ran' : 'accepted:ran-in-sandbox');
    }
    assert.deepEqual(watch.failures, []);
  });
});
