import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { ExecutionResult } from '../../contract/index.js';
import { type CallbackReceiver, startCallbackReceiver } from '../helpers/callback-receiver.js';
import { api } from '../helpers/gateway.js';

// The batch and callback parts of the gateway contract, run by contract-suite.ts against each backend.

export interface BatchContext {
  url(): string;
  /** A tenant that may start 3 executions at once and then about none (burst 3, 0.01 per second). */
  token: string;
  /** Waits for the execution to end. */
  untilTerminal(token: string, id: string): Promise<ExecutionResult>;
  /** Cancels what is left at the end of a test. */
  started(token: string, id: string): void;
}

interface BatchItem {
  id?: string;
  error?: { status: number; code: string; message: string; field?: string; retryAfterSeconds?: number };
}

export function batchContract(context: BatchContext): void {
  it('should start each execution of a batch on its own and refuse the ones past the rate, in order', async () => {
    const hello = { runtime: 'python', source: 'print("hello")\n' };
    const response = await api(`${context.url()}/api/v1/executions/batch`, context.token, {
      body: {
        executions: [hello, { runtime: 'python', source: 1 }, hello, { ...hello, source: 'print(2)\n' }, hello],
      },
    });

    assert.equal(response.status, 202, JSON.stringify(response.body));
    const items = (response.body as { items: BatchItem[] }).items;
    assert.equal(items.length, 5);
    for (const item of items) if (item.id) context.started(context.token, item.id);
    assert.deepEqual(
      items.map((item) => item.error?.status ?? 'started'),
      ['started', 400, 'started', 'started', 429],
    );
    assert.equal(items[1]?.error?.field, 'source');
    assert.equal(items[4]?.error?.code, 'too_many_requests');
    assert.ok((items[4]?.error?.retryAfterSeconds ?? 0) > 0);

    const ids = items.flatMap((item) => (item.id ? [item.id] : []));
    for (const id of ids) await context.untilTerminal(context.token, id);
    const fetched = await api(
      `${context.url()}/api/v1/executions?ids=${[ids[0], 'no-such-execution', ids[2]].join(',')}`,
      context.token,
    );
    assert.equal(fetched.status, 200, JSON.stringify(fetched.body));
    const results = (fetched.body as { items: (ExecutionResult & BatchItem)[] }).items;
    assert.equal(results.length, 3);
    assert.equal(results[0]?.id, ids[0]);
    assert.equal(results[0]?.stdout, 'hello\n');
    assert.deepEqual(results[1], {
      id: 'no-such-execution',
      error: { status: 404, code: 'not_found', message: 'no such execution' },
    });
    assert.equal(results[2]?.stdout, '2\n');
  });

  it('should answer 400 naming executions when a batch is empty or too large', async () => {
    for (const executions of [[], Array.from({ length: 101 }, () => ({ runtime: 'python', source: '' }))]) {
      const response = await api(`${context.url()}/api/v1/executions/batch`, context.token, { body: { executions } });
      assert.equal(response.status, 400);
      assert.equal((response.body as { error: { field: string } }).error.field, 'executions');
    }
  });

  it('should answer 400 naming ids when no ids are given', async () => {
    const response = await api(`${context.url()}/api/v1/executions?ids=`, context.token);
    assert.equal(response.status, 400);
    assert.equal((response.body as { error: { field: string } }).error.field, 'ids');
  });
}

export interface CallbackContext {
  url(): string;
  /** A tenant whose callback allow-list holds 127.0.0.1 and whose secret is `secret`. */
  token: string;
  secret: string;
  /** A tenant without callbacks configured. */
  otherToken: string;
}

export function callbackContract(context: CallbackContext): void {
  let receiver: CallbackReceiver | undefined;

  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('should POST the signed result to the callbackUrl, again after 500s, when the execution ends', async () => {
    receiver = await startCallbackReceiver([500, 500]);
    const response = await api(`${context.url()}/api/v1/executions`, context.token, {
      body: { runtime: 'python', source: 'print("called back")\n', callbackUrl: receiver.url },
    });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const { id } = response.body as { id: string };

    const delivered = await receiver.delivered();

    assert.deepEqual(
      receiver.received.map((callback) => callback.status),
      [500, 500, 200],
    );
    const expected = `sha256=${createHmac('sha256', context.secret).update(delivered.body).digest('hex')}`;
    for (const callback of receiver.received) {
      assert.equal(callback.headers['x-sandpod-signature'], expected);
      assert.equal(callback.headers['x-sandpod-delivery'], id);
    }
    const result = JSON.parse(delivered.body) as ExecutionResult;
    assert.equal(result.id, id);
    assert.equal(result.reason, 'Completed');
    assert.equal(result.stdout, 'called back\n');
  });

  it('should answer 400 naming callbackUrl when the host is not on the allow-list', async () => {
    for (const callbackUrl of ['http://localhost:9/hook', 'http://127.0.0.2/hook', 'ftp://127.0.0.1/hook']) {
      const response = await api(`${context.url()}/api/v1/executions`, context.token, {
        body: { runtime: 'python', source: 'print(1)\n', callbackUrl },
      });
      assert.equal(response.status, 400, `${callbackUrl}: ${JSON.stringify(response.body)}`);
      assert.equal((response.body as { error: { field: string } }).error.field, 'callbackUrl');
    }
  });

  it('should answer 400 naming callbackUrl when the tenant has no callbacks configured', async () => {
    const response = await api(`${context.url()}/api/v1/executions`, context.otherToken, {
      body: { runtime: 'python', source: 'print(1)\n', callbackUrl: 'http://127.0.0.1:9/hook' },
    });
    assert.equal(response.status, 400);
    assert.equal((response.body as { error: { field: string } }).error.field, 'callbackUrl');
  });
}
