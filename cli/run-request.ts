import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LIMIT_NAMES, type LimitName, type RequestedLimits } from '../contract/limit-values.js';
import type { ExecutionRequest } from '../contract/request.js';

// Turns `sandpod run`'s files and flags into the API's request.

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `NAME=VALUE` flags into limits; the server still checks them against the tenant's maxima. */
export function parseLimits(flags: string[]): RequestedLimits {
  const limits: RequestedLimits = {};
  for (const flag of flags) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(flag);
    if (!match) throw new UsageError(`--limit ${flag}: give NAME=VALUE with a whole number, such as memoryMiB=128`);
    const [, name = '', value = ''] = match;
    if (!(LIMIT_NAMES as string[]).includes(name)) {
      throw new UsageError(`--limit ${flag}: no limit named ${name}; the limits are ${LIMIT_NAMES.join(', ')}`);
    }
    limits[name as LimitName] = Number(value);
  }
  return limits;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/**
 * One file goes as `source` (the runtime names it). More go as `files`: the first is the program,
 * sent as `main.EXT`, the others beside it under their own names.
 */
export async function sourceOf(files: string[]): Promise<Pick<ExecutionRequest, 'source' | 'files'>> {
  const contents = await Promise.all(files.map((file) => readText(file, 'the program file')));
  if (files.length === 1) return { source: contents[0] ?? '' };
  return {
    files: files.map((file, index) => ({
      name: index === 0 ? `main${path.extname(file)}` : path.basename(file),
      content: contents[index] ?? '',
    })),
  };
}

export async function stdinFile(file: string): Promise<string> {
  return readText(file, 'the --stdin file');
}

/** All of a pipe or file given as standard input. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
