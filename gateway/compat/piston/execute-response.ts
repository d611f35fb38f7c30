import type { ExecutionResult } from '../../../contract/index.js';

/** One stage of a Piston answer. */
export interface PistonStage {
  stdout: string;
  stderr: string;
  /** Piston's interleaved output; sandpod keeps the streams apart, so stdout then stderr. */
  output: string;
  code: number | null;
  signal: string | null;
  message: string | null;
  /** Piston's short status of a failed stage: RE, SG, TO, OL, XX. */
  status: string | null;
  cpu_time: number | null;
  wall_time: number | null;
  memory: number | null;
}

function stageStatus(result: ExecutionResult): string | null {
  switch (result.reason) {
    case 'NonZeroExit':
    case 'WrongAnswer':
      return 'RE';
    case 'Signaled':
    case 'MemoryLimitExceeded':
      return 'SG';
    case 'TimeLimitExceeded':
      return 'TO';
    case 'OutputLimitExceeded':
      return 'OL';
    case 'SystemError':
    case 'Cancelled':
      return 'XX';
    default:
      return null;
  }
}

/** Piston's {language, version, run, compile?}; a failed compile has no run stage, as in Piston. */
export function executeAnswer(result: ExecutionResult, language: string, version: string): Record<string, unknown> {
  const answer: Record<string, unknown> = { language, version };
  if (result.compile) {
    const compile = result.compile;
    answer.compile = {
      stdout: '',
      stderr: compile.output,
      output: compile.output,
      code: compile.exitCode,
      signal: null,
      message: result.reason === 'CompileError' ? result.message : null,
      status: result.reason === 'CompileError' ? 'RE' : null,
      cpu_time: compile.usage?.cpuTimeMs ?? null,
      wall_time: compile.usage?.wallTimeMs ?? compile.durationMs,
      memory: compile.usage ? Math.round(compile.usage.memoryPeakMiB * 1024 * 1024) : null,
    } satisfies PistonStage;
    if (result.reason === 'CompileError') return answer;
  }
  const usage = result.usage ?? undefined;
  const failed = stageStatus(result);
  answer.run = {
    stdout: result.stdout,
    stderr: result.stderr,
    output: result.stdout + result.stderr,
    code: result.exitCode,
    signal: result.signal,
    message: failed === null ? null : result.message,
    status: failed,
    cpu_time: usage?.cpuTimeMs ?? null,
    wall_time: usage?.wallTimeMs ?? result.durationMs,
    memory: usage ? Math.round(usage.memoryPeakMiB * 1024 * 1024) : null,
  } satisfies PistonStage;
  return answer;
}
