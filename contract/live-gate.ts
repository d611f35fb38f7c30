// How the gateway and the launcher agree that an interactive program's output can be streamed
// whole through the pod attach API. containerd hands an attach only what the container writes
// after the attach joined, so the launcher holds the program back until the gateway, attached,
// sends the gate on stdin: an open record (sandbox/launcher/bundle.ts, encodeLiveStdin) to a
// launcher that reads records (status.stdinRecords, warm pods), else one byte. The launcher reads
// the gate itself, and the program never sees it.

/** The byte the gateway sends first on the stdinOnce stdin of a pod made by an earlier operator. */
export const STDIN_GATE_BYTE = 0;

/**
 * How long the launcher waits for the gate after its container started, and how long after it
 * began creating the Execution the gateway may still send it (never later, or the launcher, no
 * longer waiting, would hand the byte to the program). Covers an attach that is retried while
 * the container starts; a pod deadline counts it as part of the start.
 */
export const STDIN_GATE_MS = 5000;
