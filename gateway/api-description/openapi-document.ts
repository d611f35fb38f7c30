import {
  ackSchema,
  apiErrorSchema,
  BATCH_MAX,
  batchResultsSchema,
  batchStartedSchema,
  executionAcceptedSchema,
  executionRequestSchema,
  executionResultSchema,
  exitEventSchema,
  outputEventSchema,
  requestedLimitsSchema,
  runtimeInfoSchema,
  sourceFileSchema,
  statusEventSchema,
  tenantLimitsSchema,
} from '../../contract/index.js';
import { idPayloadSchema, stdinPayloadSchema } from '../socket/payloads.js';
import { componentSchemas, type JsonSchema } from './json-schemas.js';
import { SOCKET_EVENTS_MARKDOWN } from './socket-events.js';

// The OpenAPI 3.1 document of the REST API. Every body is described by the zod schema that
// validates it (requests) or that the tests check answers against (responses); only the paths,
// statuses and prose are written here. test/gateway/api-description checks that every route the
// gateway serves is described.

export const API_BASE_PATH = '/api/v1';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });
const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
};

const errors = {
  400: errorResponse('The request is invalid; `error.field` is the JSON path of the field at fault'),
  401: errorResponse('No token, or a token of no tenant (`WWW-Authenticate: Bearer`)'),
  404: errorResponse('No such execution for this tenant (another tenant\u2019s id answers 404 too)'),
  413: errorResponse('The request body is larger than the gateway accepts'),
  415: errorResponse('The body is not `application/json`'),
  429: {
    ...errorResponse('The tenant\u2019s rate, concurrency or stream limit is reached'),
    headers: retryAfter,
  },
  503: { ...errorResponse('The service is at capacity'), headers: retryAfter },
};

const executionId = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The id answered by POST /executions',
  schema: { type: 'string', minLength: 1 },
};

const resultResponse = (description: string) => ({ description, content: json(ref('ExecutionResult')) });

function paths(): Record<string, unknown> {
  return {
    '/runtimes': {
      get: {
        operationId: 'listRuntimes',
        summary: 'The languages this gateway runs',
        tags: ['Runtimes'],
        responses: {
          200: { description: 'Each runtime by name', content: json({ type: 'array', items: ref('RuntimeInfo') }) },
          401: errors[401],
        },
      },
    },
    '/limits': {
      get: {
        operationId: 'getLimits',
        summary: 'The calling tenant\u2019s limit defaults and maxima',
        description: 'A request may leave any limit out (the default applies) and may not ask above a maximum.',
        tags: ['Runtimes'],
        responses: {
          200: { description: 'Defaults and maxima', content: json(ref('TenantLimits')) },
          401: errors[401],
        },
      },
    },
    '/executions': {
      get: {
        operationId: 'getExecutions',
        summary: 'Many executions\u2019 results so far',
        tags: ['Executions'],
        parameters: [
          {
            name: 'ids',
            in: 'query',
            required: true,
            description: `Up to ${BATCH_MAX} ids, comma-separated`,
            schema: { type: 'string', minLength: 1 },
          },
        ],
        responses: {
          200: { description: 'Each result, or why it cannot be read, in order', content: json(ref('BatchResults')) },
          400: errors[400],
          401: errors[401],
          429: errors[429],
          503: errors[503],
        },
      },
      post: {
        operationId: 'startExecution',
        summary: 'Run a program',
        description:
          'Admits the execution and answers at once with its id, or with `wait=true` holds the ' +
          'request until the execution ends (up to the gateway\u2019s longest wait, after which it ' +
          'answers 202 with the result so far).',
        tags: ['Executions'],
        parameters: [
          {
            name: 'wait',
            in: 'query',
            description: 'Answer with the final result',
            schema: { type: 'string', enum: ['true', 'false', '1', '0'] },
          },
        ],
        requestBody: { required: true, content: json(ref('ExecutionRequest')) },
        responses: {
          200: resultResponse('The final result (`wait=true`)'),
          202: {
            description: 'Admitted: the id, or with `wait=true` the result so far',
            headers: { Location: { description: 'The execution\u2019s URL', schema: { type: 'string' } } },
            content: json({ oneOf: [ref('ExecutionAccepted'), ref('ExecutionResult')] }),
          },
          400: errors[400],
          401: errors[401],
          413: errors[413],
          415: errors[415],
          429: errors[429],
          503: errors[503],
        },
      },
    },
    '/executions/batch': {
      post: {
        operationId: 'startExecutions',
        summary: 'Run many programs',
        description:
          'Each request is validated and admitted on its own, against the tenant\u2019s rate and ' +
          'concurrency, so a batch may be partly refused: a refused item carries the status and error ' +
          'it would have had alone.',
        tags: ['Executions'],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            properties: {
              executions: { type: 'array', items: ref('ExecutionRequest'), minItems: 1, maxItems: BATCH_MAX },
            },
            required: ['executions'],
            additionalProperties: false,
          }),
        },
        responses: {
          202: { description: 'Each request\u2019s id or error, in request order', content: json(ref('BatchStarted')) },
          400: errors[400],
          401: errors[401],
          413: errors[413],
          415: errors[415],
          429: errors[429],
          503: errors[503],
        },
      },
    },
    '/executions/{id}': {
      parameters: [executionId],
      get: {
        operationId: 'getExecution',
        summary: 'An execution\u2019s result so far',
        tags: ['Executions'],
        responses: {
          200: resultResponse('The result (final once `phase` is Succeeded or Failed)'),
          401: errors[401],
          404: errors[404],
          429: errors[429],
          503: errors[503],
        },
      },
      delete: {
        operationId: 'cancelExecution',
        summary: 'Cancel an execution',
        description: 'The result\u2019s reason becomes `Cancelled` unless the execution had already ended.',
        tags: ['Executions'],
        responses: {
          200: resultResponse('The final result'),
          202: resultResponse('Cancelling: the result so far'),
          401: errors[401],
          404: errors[404],
          429: errors[429],
          503: errors[503],
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getApiDescription',
        summary: 'This document',
        tags: ['API description'],
        security: [],
        responses: { 200: { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
      },
    },
    '/healthz': rootPath({
      operationId: 'getHealth',
      summary: 'Liveness: the process serves requests',
      tags: ['Operations'],
      security: [],
      responses: { 200: { description: 'Alive', content: json(statusSchema('ok')) } },
    }),
    '/readyz': rootPath({
      operationId: 'getReadiness',
      summary: 'Readiness: the execution backend can take work',
      tags: ['Operations'],
      security: [],
      responses: {
        200: { description: 'Ready', content: json(statusSchema('ready')) },
        503: errorResponse('Not ready'),
      },
    }),
    '/metrics': rootPath({
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      tags: ['Operations'],
      security: [],
      responses: {
        200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    }),
  };
}

/** Probes and metrics live at the root, not under the API's base path. */
function rootPath(operation: Record<string, unknown>) {
  return { servers: [{ url: '/' }], get: operation };
}

function statusSchema(status: string): JsonSchema {
  return {
    type: 'object',
    properties: { status: { const: status } },
    required: ['status'],
    additionalProperties: false,
  };
}

function schemas(): Record<string, JsonSchema> {
  return {
    ...componentSchemas(
      {
        ExecutionRequest: executionRequestSchema,
        SourceFile: sourceFileSchema,
        RequestedLimits: requestedLimitsSchema,
        SocketIdPayload: idPayloadSchema,
        SocketStdinPayload: stdinPayloadSchema,
      },
      'input',
    ),
    ...componentSchemas(
      {
        ExecutionAccepted: executionAcceptedSchema,
        ExecutionResult: executionResultSchema,
        BatchStarted: batchStartedSchema,
        BatchResults: batchResultsSchema,
        RuntimeInfo: runtimeInfoSchema,
        TenantLimits: tenantLimitsSchema,
        Error: apiErrorSchema,
        SocketOutputEvent: outputEventSchema,
        SocketStatusEvent: statusEventSchema,
        SocketExitEvent: exitEventSchema,
        SocketAck: ackSchema,
      },
      'output',
    ),
  };
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
  [key: string]: unknown;
}

/** Built from the schemas on each call; the gateway builds it once. */
export function openApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'sandpod',
      version: '1.0.0',
      summary: 'Run untrusted programs in sandboxes',
      description:
        'Runs programs in a sandbox (embedded mode) or in a hardened pod (Kubernetes) and reports ' +
        'their outcome. Every error answers `{ "error": { "code", "message", "field"? } }`.\n\n' +
        SOCKET_EVENTS_MARKDOWN,
    },
    servers: [{ url: API_BASE_PATH }],
    security: [{ bearer: [] }, {}],
    tags: [
      { name: 'Executions', description: 'Run programs and read their outcome' },
      { name: 'Runtimes', description: 'What may be run, and within which limits' },
      { name: 'API description', description: 'This document; a readable page of it is at /api/docs' },
      { name: 'Operations', description: 'Probes and metrics, without a token' },
    ],
    paths: paths(),
    components: {
      schemas: schemas(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A tenant\u2019s token. Embedded mode on loopback may run without tokens.',
        },
      },
    },
  };
}
