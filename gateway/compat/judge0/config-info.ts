import { type LimitPolicy, REQUEST_BOUNDS } from '../../../contract/index.js';
import { attemptsWithinWindow } from '../../callbacks/delivery.js';
import { BATCH_BOUNDS } from '../../tenancy/batch.js';
import { MAX_NUMBER_OF_RUNS } from './submission-request.js';

/** The gateway's callback settings, and whether the tenant may be called back at all. */
export interface CallbackInfo {
  enabled: boolean;
  initialBackoffMs: number;
  attemptTimeoutMs: number;
}

/**
 * Judge0's GET /config_info, every attribute it has, filled from the tenant's limits (seconds,
 * kilobytes) and from what this adapter supports; the refused options read as disabled.
 */
export function configInfo(policy: LimitPolicy, callbacks: CallbackInfo): Record<string, unknown> {
  const { defaults, maxima } = policy;
  return {
    maintenance_mode: false,
    enable_wait_result: true,
    enable_compiler_options: false,
    allowed_languages_for_compile_options: [],
    enable_command_line_arguments: true,
    enable_submission_delete: false,
    enable_callbacks: callbacks.enabled,
    callbacks_max_tries: callbacks.enabled ? attemptsWithinWindow(callbacks.initialBackoffMs) : 0,
    callbacks_timeout: callbacks.enabled ? callbacks.attemptTimeoutMs / 1000 : 0,
    enable_additional_files: true,
    max_queue_size: 0,
    cpu_time_limit: defaults.cpuTimeMs / 1000,
    max_cpu_time_limit: maxima.cpuTimeMs / 1000,
    cpu_extra_time: 0,
    max_cpu_extra_time: 0,
    wall_time_limit: defaults.wallTimeMs / 1000,
    max_wall_time_limit: maxima.wallTimeMs / 1000,
    memory_limit: defaults.memoryMiB * 1024,
    max_memory_limit: maxima.memoryMiB * 1024,
    stack_limit: 0,
    max_stack_limit: 0,
    max_processes_and_or_threads: defaults.pids,
    max_max_processes_and_or_threads: maxima.pids,
    enable_per_process_and_thread_time_limit: false,
    allow_enable_per_process_and_thread_time_limit: false,
    enable_per_process_and_thread_memory_limit: false,
    allow_enable_per_process_and_thread_memory_limit: false,
    max_file_size: Math.floor(defaults.outputBytes / 1024),
    max_max_file_size: Math.floor(maxima.outputBytes / 1024),
    number_of_runs: 1,
    max_number_of_runs: MAX_NUMBER_OF_RUNS,
    redirect_stderr_to_stdout: false,
    max_extract_size: Math.floor(REQUEST_BOUNDS.sourceBytes / 1024),
    enable_batched_submissions: true,
    max_submission_batch_size: BATCH_BOUNDS.executions,
    submission_cache_duration: 0,
    use_docs_as_homepage: false,
    enable_network: false,
    allow_enable_network: false,
  };
}
