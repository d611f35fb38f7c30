import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

// Streaming GETs to the API server (pod logs, readiness), made with node:https so the response is
// a Node stream: when a follower stops reading, TCP backpressure reaches the kubelet, and nothing
// piles up in the gateway. TLS and credentials come from the KubeConfig, as the client's own
// log.ts and attach.ts get them.

/** The API server answered with an error status; `message` is the one of its Status body. */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Opens `path` (with its query) and resolves with the response once it answered 200. */
export async function openApiStream(
  kubeConfig: KubeConfig,
  path: string,
  signal: AbortSignal,
  timeoutMs?: number,
): Promise<IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { method: 'GET', headers: { accept: '*/*' } };
  await kubeConfig.applyToHTTPSOptions(options);
  const plain = url.protocol === 'http:';
  // The kubeconfig's agent speaks TLS; a plain-HTTP server (a local proxy, a test) needs none.
  if (plain) delete options.agent;
  const transport = plain ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { ...options, signal }, (response) => {
      if (response.statusCode === 200) {
        // Whoever reads the response sees its errors; this keeps one that is aborted unread (the
        // other log of a pair that failed to open, a probe) from crashing the process.
        response.on('error', () => undefined);
        resolve(response);
        return;
      }
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('error', reject);
      response.on('end', () => {
        const code = response.statusCode ?? 0;
        reject(new ApiRequestError(code, statusMessage(Buffer.concat(parts).toString('utf8'), code)));
      });
    });
    if (timeoutMs !== undefined) {
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    }
    request.on('error', reject);
    request.end();
  });
}

function statusMessage(body: string, code: number): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // Not a Status object: the text itself says what went wrong.
  }
  return body.trim() || `HTTP ${code}`;
}

/** Asks the API server whether it is ready; resolves with why not, or undefined when it is. */
export async function apiServerProblem(kubeConfig: KubeConfig, timeoutMs: number): Promise<string | undefined> {
  const controller = new AbortController();
  try {
    const response = await openApiStream(kubeConfig, '/readyz', controller.signal, timeoutMs);
    response.resume();
    return undefined;
  } catch (error) {
    const server = kubeConfig.getCurrentCluster()?.server ?? 'the API server';
    return `${server} is not ready: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    controller.abort();
  }
}
