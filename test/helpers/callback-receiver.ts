import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A callback receiver on 127.0.0.1 for tests: records every request and answers with the statuses
// given, one per request, then 200.

export interface ReceivedCallback {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

export interface CallbackReceiver {
  url: string;
  received: ReceivedCallback[];
  /** Resolves once a request has been answered with a 2xx. */
  delivered(): Promise<ReceivedCallback>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(statuses: number[] = []): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const answers = [...statuses];
  let resolveDelivered: (callback: ReceivedCallback) => void = () => undefined;
  const delivered = new Promise<ReceivedCallback>((resolve) => {
    resolveDelivered = resolve;
  });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      const callback = {
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status,
      };
      received.push(callback);
      res.writeHead(status).end();
      if (status >= 200 && status < 300) resolveDelivered(callback);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    delivered: () => delivered,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
