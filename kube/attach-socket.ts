import type https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { Stream } from '../contract/index.js';

// One WebSocket to a container's attach endpoint: stdin, stdout and stderr framed by channel.k8s.io
// (a channel byte, then data), with TLS and credentials from the KubeConfig. The client's Attach
// class is not used: it drops the status channel, the only way to tell a refused attach from one
// that worked, and it ends the gateway's own process.stdout when the server closes a stream.

/** v5 can end stdin alone; v4 ends it only by closing the whole attach. */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, close: 255 } as const;

/**
 * How an attach ended. `refused`: it never reached the container (the pod has no node yet, the
 * container is not running), so what was sent may be sent again. `ended`: the container's output
 * ended (the program is done) and all of it came. `broken`: cut midway; input sent may or may not
 * have reached the program, and output after the cut did not come.
 */
export type AttachEnd = { kind: 'refused'; message: string } | { kind: 'ended' } | { kind: 'broken'; message: string };

/**
 * The end told by the status channel: the kubelet writes Success when the attach ran to its end
 * and Failure only when it could not attach (the API server also reports there what it could not
 * reach). No status at all means the connection was lost.
 */
export function attachEnd(status: string | undefined, closeReason: string, closeCode = 1006): AttachEnd {
  if (status === undefined) {
    return {
      kind: 'broken',
      message: `the attach connection closed (${closeCode}${closeReason ? `: ${closeReason}` : ''})`,
    };
  }
  let parsed: { status?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(status) as typeof parsed;
  } catch {
    return { kind: 'broken', message: `unreadable attach status: ${status.slice(0, 200)}` };
  }
  if (parsed.status === 'Success') return { kind: 'ended' };
  const message = typeof parsed.message === 'string' ? parsed.message : status.slice(0, 200);
  return { kind: 'refused', message };
}

export function attachPath(namespace: string, pod: string, container: string): string {
  const query = new URLSearchParams({ container, stdin: 'true', stdout: 'true', stderr: 'true', tty: 'false' });
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/attach?${query}`;
}

export class AttachSocket {
  /** Whether the container sent anything over this attach: it reached the container. */
  sawOutput = false;

  private constructor(
    private readonly socket: WebSocket,
    readonly ended: Promise<AttachEnd>,
  ) {}

  /**
   * Opens the attach; `onOutput` gets the program's bytes as they come. Rejects when the API
   * server refused the upgrade (nothing reached the container then either).
   */
  static async open(
    kubeConfig: KubeConfig,
    target: { namespace: string; pod: string; container: string },
    onOutput: (stream: Stream, chunk: Buffer) => void,
  ): Promise<AttachSocket> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    const url = new URL(attachPath(target.namespace, target.pod, target.container), cluster.server);
    url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
    const options: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    // The kubeconfig's agent speaks TLS; a plain-HTTP server (a local proxy, a test) needs none.
    if (url.protocol === 'ws:') delete options.agent;
    const socket = new WebSocket(url, PROTOCOLS, options);
    let status: string | undefined;
    let opened: AttachSocket | undefined;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      // v4 and v5 frame every channel in binary messages.
      if (!isBinary || data.length <= 1) return;
      const channel = data[0];
      const stream = channel === CHANNEL.stdout ? 'stdout' : channel === CHANNEL.stderr ? 'stderr' : undefined;
      if (stream) {
        if (opened) opened.sawOutput = true;
        onOutput(stream, data.subarray(1));
      } else if (channel === CHANNEL.status) {
        status = data.subarray(1).toString('utf8');
      }
    });
    let failure = '';
    const ended = new Promise<AttachEnd>((resolve) => {
      socket.on('close', (code, reason) =>
        resolve(attachEnd(status, [failure, reason.toString('utf8')].filter(Boolean).join('; '), code)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (request, response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => {
          request.destroy();
          reject(new Error(`HTTP ${response.statusCode}: ${Buffer.concat(parts).toString('utf8').slice(0, 300)}`));
        });
        response.on('error', reject);
      });
      socket.once('error', reject);
    });
    // After the open, the close that follows an error says how the attach ended.
    socket.on('error', (error) => {
      failure = error.message;
    });
    opened = new AttachSocket(socket, ended);
    return opened;
  }

  send(data: Buffer): void {
    this.socket.send(Buffer.concat([Buffer.from([CHANNEL.stdin]), data]));
  }

  /** Ends the program's stdin; before protocol v5 that takes closing the whole attach. */
  closeStdin(): void {
    if (this.socket.protocol === PROTOCOLS[0]) this.socket.send(Buffer.from([CHANNEL.close, CHANNEL.stdin]));
    else this.socket.close();
  }

  close(): void {
    this.socket.terminate();
  }
}
