import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Router } from 'express';
import { executionRequestSchema } from '../../../contract/index.js';
import { openApiDocument } from '../../../gateway/api-description/openapi-document.js';
import { SOCKET_EVENTS } from '../../../gateway/api-description/socket-events.js';
import { openApiRoutes } from '../../../gateway/http/api-description-routes.js';
import { executionsRoutes } from '../../../gateway/http/executions-routes.js';
import { healthRoutes } from '../../../gateway/http/health-routes.js';
import type { TenantExecutions } from '../../../gateway/tenancy/tenant-executions.js';
import { ApiDescription, type Described } from '../../helpers/api-description.js';

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** `METHOD /path` of every route a router serves, in OpenAPI's `{param}` spelling. */
function routesOf(router: Router, prefix: string): string[] {
  return (router.stack as RouteLayer[]).flatMap((layer) => {
    if (!layer.route) return [];
    const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
    return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${path}`);
  });
}

function describedOperations(document: Described): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => ['get', 'post', 'put', 'patch', 'delete'].includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('OpenAPI document', () => {
  const document = openApiDocument() as unknown as Described;
  const description = new ApiDescription(document);

  it('should be a valid OpenAPI 3.1 document when checked by a validator of the specification', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);

    assert.equal(validator.version, '3.1');
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
  });

  it('should describe every route the gateway serves when its routers are walked', () => {
    const unused = {} as TenantExecutions;
    const served = [
      ...routesOf(
        executionsRoutes({ executions: unused, connections: {} as never, maxWaitMs: 1, cancelWaitMs: 1 }),
        '',
      ),
      ...routesOf(openApiRoutes(), ''),
      ...routesOf(healthRoutes({} as never, {} as never), ''),
    ];
    const described = describedOperations(document);

    assert.ok(served.length >= 8, served.join(', '));
    for (const route of served) assert.ok(described.includes(route), `${route} is not in the document`);
    for (const operation of described)
      assert.ok(served.includes(operation), `${operation} is described but not served`);
  });

  const requests: [string, unknown][] = [
    ['a plain source', { runtime: 'python', source: 'print(1)' }],
    [
      'files, stdin, args and limits',
      { runtime: 'c', files: [{ name: 'main.c', content: '' }], stdin: 'x', args: ['-v'], limits: { memoryMiB: 64 } },
    ],
    ['an unknown field', { runtime: 'python', source: '', colour: 'red' }],
    ['an unknown limit', { runtime: 'python', source: '', limits: { gpus: 1 } }],
    ['a limit of zero', { runtime: 'python', source: '', limits: { wallTimeMs: 0 } }],
    ['a fractional limit', { runtime: 'python', source: '', limits: { pids: 1.5 } }],
    ['a file name with a slash', { runtime: 'python', files: [{ name: 'a/b.py', content: '' }] }],
    ['no runtime', { source: '' }],
    ['a number for stdin', { runtime: 'python', source: '', stdin: 5 }],
  ];
  for (const [what, request] of requests) {
    it(`should judge ${what} as the gateway's schema does`, () => {
      const accepted = description.component('ExecutionRequest')(request);

      assert.equal(accepted, executionRequestSchema.safeParse(request).success);
    });
  }

  it('should refuse an answer when its status or a field of its body is not described', () => {
    const result = {
      id: 'x1',
      runtime: 'python',
      phase: 'Succeeded',
      reason: 'Completed',
      exitCode: 0,
      signal: null,
      message: '',
      createdAt: '2026-01-02T03:04:05.678Z',
      startedAt: '2026-01-02T03:04:05Z',
      finishedAt: null,
      durationMs: 12,
      stdout: 'hi\n',
      stderr: '',
      truncated: false,
    };
    const at = 'http://gateway/api/v1/executions/x1';

    description.check('GET', at, 200, 'application/json', result);
    assert.throws(() => description.check('GET', at, 200, 'application/json', { ...result, colour: 'red' }), /colour/);
    assert.throws(
      () => description.check('GET', at, 200, 'application/json', { ...result, createdAt: 'today' }),
      /createdAt/,
    );
    assert.throws(() => description.check('GET', at, 418, 'application/json', result), /418 is not described/);
    assert.throws(() => description.check('PUT', at, 200, 'application/json', result), /PUT is not described/);
  });

  it('should name only schemas of the document when it describes the Socket.IO events', () => {
    const payloads = [...SOCKET_EVENTS.client, ...SOCKET_EVENTS.server].map(([, payload]) => payload);

    for (const payload of payloads) assert.ok(document.components.schemas[payload], payload);
    assert.match(String((document as unknown as { info: { description: string } }).info.description), /`stdin:end`/);
  });
});
