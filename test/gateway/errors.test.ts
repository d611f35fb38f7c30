import assert from 'node:assert/strict';
import { ApiError, atCapacity } from '../../gateway/errors.js';
import { toApiError } from '../../gateway/http/api-errors.js';
import { parsePayload, stdinPayloadSchema } from '../../gateway/socket/payloads.js';

const httpError = (status: number, type: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error('boom'), { status, statusCode: status, type, expose: true, ...extra });

describe('toApiError', () => {
  it('should keep an ApiError as it is', () => {
    const error = atCapacity(5);

    assert.equal(toApiError(error), error);
  });

  it('should map body parser errors to their statuses when the body is too large, malformed or of a bad charset', () => {
    assert.equal(toApiError(httpError(413, 'entity.too.large', { limit: 100 })).status, 413);
    assert.match(toApiError(httpError(413, 'entity.too.large', { limit: 100 })).message, /100 bytes/);
    assert.equal(toApiError(httpError(400, 'entity.parse.failed')).status, 400);
    assert.equal(toApiError(httpError(415, 'charset.unsupported')).status, 415);
    assert.equal(toApiError(httpError(415, 'encoding.unsupported')).status, 415);
  });

  it('should answer 400 naming the id when a path parameter is not valid percent-encoding', () => {
    // What the router throws for PUT /api/v1/executions/%-, found by the REST fuzz suite.
    const decodeFailure = Object.assign(new URIError("Failed to decode param '%-'"), { status: 400, statusCode: 400 });

    const mapped = toApiError(decodeFailure);

    assert.equal(mapped.status, 400);
    assert.equal(mapped.field, 'id');
  });

  it('should answer 500 without details when the error is unexpected', () => {
    const mapped = toApiError(new TypeError('secret internals'));

    assert.equal(mapped.status, 500);
    assert.doesNotMatch(mapped.message, /secret/);
  });

  it('should answer 500 when something that is not an Error is thrown', () => {
    assert.equal(toApiError('a string').status, 500);
    assert.equal(toApiError(null).status, 500);
  });
});

describe('parsePayload', () => {
  it('should return the payload when it has the expected shape', () => {
    assert.deepEqual(parsePayload(stdinPayloadSchema, { id: 'x', data: 'y' }), { id: 'x', data: 'y' });
  });

  it('should throw a 400 naming the field when the payload is malformed', () => {
    const named = (field: string) => (error: unknown) =>
      error instanceof ApiError && error.status === 400 && error.field === field;

    assert.throws(() => parsePayload(stdinPayloadSchema, 'x'), named(''));
    assert.throws(() => parsePayload(stdinPayloadSchema, [1]), named(''));
    assert.throws(() => parsePayload(stdinPayloadSchema, { id: 1, data: '' }), named('id'));
    assert.throws(() => parsePayload(stdinPayloadSchema, { id: 'x', data: 5 }), named('data'));
    assert.throws(() => parsePayload(stdinPayloadSchema, { id: '', data: '' }), named('id'));
  });
});
