// The condition types of an Execution's status and the reasons they carry, as the API names them.
// A terminal Succeeded condition carries the outcome's own reason (outcome.ts); a pending one
// carries the phase.

export const CONDITION_TYPE = { accepted: 'Accepted', running: 'Running', succeeded: 'Succeeded' } as const;
export type ConditionType = (typeof CONDITION_TYPE)[keyof typeof CONDITION_TYPE];

/** Reasons of the Accepted condition. */
export const ACCEPTED_REASON = {
  accepted: 'Accepted',
  runtimeNotFound: 'RuntimeNotFound',
  invalidSpec: 'InvalidSpec',
} as const;

/** Reasons of the Running condition. */
export const RUNNING_REASON = {
  running: 'Running',
  finished: 'Finished',
  queued: 'Queued',
  pending: 'Pending',
} as const;

/** Reason of a terminal Succeeded condition whose outcome has no reason. */
export const UNKNOWN_REASON = 'Unknown';
