import type { V1ContainerStateTerminated } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Usage } from '../../contract/index.js';

// What sandpod-launch (sandbox/launcher/sandpod-launch.c) wrote as a container's termination message: the step's
// outcome as the launcher saw it, with times in milliseconds where the kubelet has whole seconds.

const launchReportSchema = z.object({
  sandpodLaunch: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.int().min(0),
  cpuMs: z.int().min(0),
  /** The largest resident set of any process of the step, in KiB (absent from older launchers). */
  memoryPeakKiB: z.int().min(0).optional(),
  /** Bytes of stdout and stderr forwarded to the log, at most the output limit. */
  outputBytes: z.int().min(0),
  /** The limit the launcher enforced by killing the step, or null when the program ended itself. */
  limit: z.enum(['wall', 'cpu', 'output', 'memory']).nullable(),
  exitCode: z.int().nullable(),
  /** Number of the signal that ended the program. */
  signal: z.int().nullable(),
  /** Why the program could not be started at all. */
  error: z.string().nullable(),
});
export type LaunchReport = z.infer<typeof launchReportSchema>;

/**
 * The report of a terminated container, or undefined when there is none to trust. The program
 * runs as the same user as the launcher and could write the file too; the launcher overwrites it
 * after every process of the step is dead, so a report is taken only when the container's exit
 * code is the one the launcher gives for that report (a launcher killed from outside left none).
 */
export function launchReport(end: V1ContainerStateTerminated | undefined): LaunchReport | undefined {
  const report = end?.message ? parseLaunchReport(end.message) : undefined;
  if (!end || !report) return undefined;
  return end.exitCode === launcherExitCode(report) ? report : undefined;
}

/** A report's JSON line, or undefined when it is not one. */
export function parseLaunchReport(message: string): LaunchReport | undefined {
  const text = message.trim();
  if (!text.startsWith('{')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = launchReportSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** What the step used, as the launcher measured it; the peak is the largest resident set. */
export function reportUsage(report: LaunchReport): Usage {
  return {
    cpuTimeMs: report.cpuMs,
    wallTimeMs: report.durationMs,
    memoryPeakMiB: Math.round(((report.memoryPeakKiB ?? 0) / 1024) * 10) / 10,
  };
}

/** The exit code sandpod-launch ends with after writing this report. */
export function launcherExitCode(report: LaunchReport): number {
  if (report.error !== null) return 127;
  if (report.limit !== null) return 128 + 9;
  if (report.signal !== null) return 128 + report.signal;
  return report.exitCode ?? 0;
}
