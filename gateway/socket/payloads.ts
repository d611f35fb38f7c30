import { z } from 'zod';
import { firstFieldError } from '../../contract/index.js';
import { invalid } from '../errors.js';

const executionId = z.string().min(1).max(256);

export const idPayloadSchema = z.object({ id: executionId });
export const stdinPayloadSchema = z.object({ id: executionId, data: z.string() });

/** Parses an untrusted payload or throws a 400 ApiError naming the field. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): T {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw invalid('', 'the payload must be an object');
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const { field, message } = firstFieldError(parsed.error);
    throw invalid(field, message);
  }
  return parsed.data;
}
