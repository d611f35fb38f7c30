// The kubelet answers a pod log request before it knows it can read the log: it writes a first
// empty chunk, so the status is already 200 when the container runtime then fails (containerd
// restarting, a log file gone), and its error text arrives as the body, where it reads as the
// program's output. These are those texts (pkg/kubelet/kuberuntime's GetContainerLogs and the
// CRI client's ReadLogs); a body that is one of them, and nothing else, is a failed read.

const KUBELET_LOG_ERRORS = [
  /^unable to retrieve container logs for [a-z0-9.+-]+:\/\/[0-9a-f]{64}$/,
  /^container status is nil$/,
  /^failed to (?:open log file|try resolving symlinks in path) "\/[^"\n]*": [^\n]*$/,
];

/** The kubelet's error text when `body` is one (with nothing of the program's around it). */
export function kubeletLogError(body: string | Uint8Array): string | undefined {
  // Every such text is short; a longer body is the program's, and is not decoded here at all.
  if (body.length > 1024) return undefined;
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  return KUBELET_LOG_ERRORS.some((pattern) => pattern.test(text)) ? text : undefined;
}

export class KubeletLogError extends Error {
  constructor(text: string) {
    super(`the kubelet could not read the container's log: ${text}`);
    this.name = 'KubeletLogError';
  }
}
