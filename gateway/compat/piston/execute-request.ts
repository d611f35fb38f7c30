import { z } from 'zod';
import type { LimitPolicy, RequestedLimits, RuntimeInfo } from '../../../contract/index.js';
import { firstFieldError } from '../../../contract/index.js';
import { pistonRefusal } from './errors.js';
import { matchRuntime, pistonVersion } from './runtimes.js';

// A Piston v2 execute (or WebSocket init) request turned into a sandpod execution request.

const ENCODINGS = ['utf8', 'base64', 'hex'] as const;

/** -1 means "the default", as in Piston. */
const limitValue = z.union([z.literal(-1), z.number().positive()]).optional();

const executeSchema = z.object({
  language: z.string().min(1),
  version: z.string().min(1),
  files: z
    .array(
      z.object({
        name: z.string().optional(),
        content: z.string(),
        encoding: z.enum(ENCODINGS).optional(),
      }),
    )
    .min(1),
  stdin: z.string().optional(),
  args: z.array(z.string()).optional(),
  compile_timeout: limitValue,
  run_timeout: limitValue,
  compile_memory_limit: limitValue,
  run_memory_limit: limitValue,
  compile_cpu_time: limitValue,
  run_cpu_time: limitValue,
});
export type PistonExecute = z.infer<typeof executeSchema>;

function decodeContent(content: string, encoding: (typeof ENCODINGS)[number] | undefined, index: number): string {
  if (encoding === undefined || encoding === 'utf8') return content;
  const bytes = Buffer.from(content, encoding);
  const text = bytes.toString('utf8');
  // Sources are text here; a binary file would be altered, so it is refused instead.
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw pistonRefusal(`files[${index}] is not UTF-8 text once decoded`);
  return text;
}

/** A run limit in Piston's units, refused above the tenant's maximum as Piston refuses it. */
function runLimits(request: PistonExecute, policy: LimitPolicy): RequestedLimits {
  const limits: RequestedLimits = {};
  const put = (
    field: keyof PistonExecute,
    name: keyof RequestedLimits,
    toSandpod: (value: number) => number,
    fromSandpod: (value: number) => number,
  ) => {
    const value = request[field];
    if (typeof value !== 'number' || value === -1) return;
    const maximum = fromSandpod(policy.maxima[name]);
    if (value > maximum) throw pistonRefusal(`${field} cannot exceed the configured limit of ${maximum}`);
    limits[name] = Math.max(1, toSandpod(value));
  };
  put('run_timeout', 'wallTimeMs', Math.round, (ms) => ms);
  put('run_cpu_time', 'cpuTimeMs', Math.round, (ms) => ms);
  put(
    'run_memory_limit',
    'memoryMiB',
    (bytes) => Math.ceil(bytes / 1024 / 1024),
    (mib) => mib * 1024 * 1024,
  );
  return limits;
}

export interface TranslatedExecute {
  request: Record<string, unknown>;
  language: string;
  version: string;
}

export function translateExecute(body: unknown, runtimes: RuntimeInfo[], policy: LimitPolicy): TranslatedExecute {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw pistonRefusal('the request body must be a JSON object');
  }
  const parsed = executeSchema.safeParse(body);
  if (!parsed.success) throw pistonRefusal(firstFieldError(parsed.error).message);
  const request = parsed.data;
  const runtime = matchRuntime(runtimes, request.language, request.version);
  if (!runtime) throw pistonRefusal(`${request.language}-${request.version} runtime is unknown`);
  const files = request.files.map((file, index) => ({
    name: file.name,
    content: decodeContent(file.content, file.encoding, index),
  }));
  // Piston runs the first file, whatever its name: here it goes under the name the runtime runs.
  const source =
    files.length === 1
      ? { source: files[0]?.content }
      : {
          files: files.map((file, index) => ({
            name: index === 0 ? runtime.fileName : (file.name ?? `file${index}.code`),
            content: file.content,
          })),
        };
  return {
    request: {
      runtime: runtime.name,
      ...source,
      ...(request.stdin ? { stdin: request.stdin } : {}),
      ...(request.args ? { args: request.args } : {}),
      limits: runLimits(request, policy),
    },
    language: runtime.name,
    version: pistonVersion(runtime.version),
  };
}
