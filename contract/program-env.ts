// The only environment variables a program sees, on both backends. The kubelet adds
// KUBERNETES_SERVICE_* and more to every container, so the pod's launcher passes on these alone.

export const PROGRAM_ENV_NAMES = ['PATH', 'HOME', 'TMPDIR', 'LANG'] as const;
export type ProgramEnvName = (typeof PROGRAM_ENV_NAMES)[number];
