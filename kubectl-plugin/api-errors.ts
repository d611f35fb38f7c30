// What a failed call to the Kubernetes API says, read without loading the client library.

/** The status code of a failed API call, when it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** What the API server said, rather than the client's wrapping of it. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not a Status object: the text itself is the message.
    }
    if (body !== '') return body;
  }
  return error instanceof Error ? error.message : String(error);
}
