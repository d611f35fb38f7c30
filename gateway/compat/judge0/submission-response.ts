import { type ExecutionResult, signalNumber, type Usage } from '../../../contract/index.js';
import { JUDGE0_LANGUAGES } from './languages.js';
import { statusOf } from './statuses.js';

/** What GET /submissions/:token answers when `fields` is not given, as in Judge0. */
export const DEFAULT_FIELDS = ['token', 'stdout', 'stderr', 'compile_output', 'message', 'status', 'time', 'memory'];

/** Attributes Judge0 sends base64-encoded when the client asks for base64_encoded=true. */
const ENCODED = new Set(['stdout', 'stderr', 'compile_output', 'message']);

const secondsText = (ms: number | undefined) => (ms === undefined ? null : (ms / 1000).toFixed(3));

/**
 * A time as Judge0 writes it, always with milliseconds ("2026-01-01T10:00:01.000Z"): its official
 * SDK parses no other form, and Kubernetes keeps creation times to the second.
 */
function judge0Time(time: string | null): string | null {
  if (time === null) return null;
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? time : parsed.toISOString();
}

/**
 * Every attribute of a submission sandpod can tell from its result. The request's own attributes
 * (source_code, stdin, limits...) are not kept with a result, so they are not echoed.
 */
function allAttributes(result: ExecutionResult): Record<string, unknown> {
  const status = statusOf(result);
  const shown = shownRun(result);
  const usage = averageUsage(result);
  const language = JUDGE0_LANGUAGES[result.runtime];
  const finished = result.reason !== null;
  return {
    token: result.id,
    stdout: finished ? shown.stdout : null,
    stderr: finished ? shown.stderr : null,
    compile_output: result.compile ? result.compile.output : null,
    message: finished && result.message !== '' ? result.message : null,
    exit_code: result.exitCode,
    exit_signal: result.signal === null ? null : (signalNumber(result.signal) ?? null),
    status,
    status_id: status.id,
    language_id: language?.id ?? null,
    created_at: judge0Time(result.createdAt),
    finished_at: judge0Time(result.finishedAt),
    time: secondsText(usage?.cpuTimeMs),
    wall_time: secondsText(usage?.wallTimeMs),
    memory: usage === undefined ? null : Math.round(usage.memoryPeakMiB * 1024),
  };
}

/**
 * Whose output a submission shows: the run's, or with number_of_runs (tests of one execution)
 * the first run that did not pass, else the last, as Judge0 shows one run of several.
 */
function shownRun(result: ExecutionResult): { stdout: string; stderr: string } {
  const tests = result.tests;
  if (!tests || tests.length === 0) return result;
  const passed = (reason: string) => reason === 'Accepted' || reason === 'Completed';
  return tests.find((test) => !passed(test.reason) && test.reason !== 'Skipped') ?? tests[tests.length - 1] ?? result;
}

/** Judge0 reports the average time and memory of a submission's runs. */
function averageUsage(result: ExecutionResult): Usage | undefined {
  const measured = (result.tests ?? []).flatMap((test) => (test.usage ? [test.usage] : []));
  if (measured.length === 0) return result.usage ?? undefined;
  const mean = (pick: (usage: Usage) => number) =>
    measured.reduce((sum, usage) => sum + pick(usage), 0) / measured.length;
  return {
    cpuTimeMs: mean((usage) => usage.cpuTimeMs),
    wallTimeMs: mean((usage) => usage.wallTimeMs),
    memoryPeakMiB: mean((usage) => usage.memoryPeakMiB),
  };
}

/** The `fields` query parameter: `*` for all, else a comma-separated list. */
export function requestedFields(query: unknown): string[] | '*' {
  if (typeof query !== 'string' || query.trim() === '') return DEFAULT_FIELDS;
  if (query.trim() === '*') return '*';
  return query
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
}

/** A result in Judge0's shape, with the asked attributes only, encoded as asked. */
export function submissionView(
  result: ExecutionResult,
  fields: string[] | '*',
  base64: boolean,
): Record<string, unknown> {
  const all = allAttributes(result);
  const names = fields === '*' ? Object.keys(all) : fields.filter((field) => field in all);
  const view: Record<string, unknown> = {};
  for (const name of names) {
    const value = all[name];
    view[name] = base64 && ENCODED.has(name) && typeof value === 'string' ? encodeBase64(value) : value;
  }
  return view;
}

const encodeBase64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
