import type { Socket } from 'socket.io';

// A slow reader must not grow the gateway's memory: following pauses while a socket has more
// than its high-water mark of bytes waiting, and the output stays in the backend, which caps it
// per execution. Bytes, not packets: one packet may carry a large chunk of output, and JSON
// writes a control character as six (`\u0001`), so what waits is measured as it was encoded.

/** Characters of output per `output` event, so that no one packet is much above the mark. */
export const OUTPUT_CHUNK_CHARS = 16 * 1024;

// engine.io keeps unsent packets in `writeBuffer` (not in its typings), each with its encoded
// `data`, and emits `drain` once it has handed them to the transport.
type Packet = { data?: string | Buffer | ArrayBuffer };

export function waitingBytes(socket: Socket): number {
  const packets = (socket.conn as unknown as { writeBuffer?: Packet[] }).writeBuffer ?? [];
  let bytes = 0;
  for (const { data } of packets) {
    if (typeof data === 'string') bytes += data.length;
    else if (data) bytes += data.byteLength;
  }
  return bytes;
}

/** Resolves once the socket has at most `highWaterBytes` waiting, or the signal aborts. */
export async function whenWritable(socket: Socket, highWaterBytes: number, signal: AbortSignal): Promise<void> {
  while (waitingBytes(socket) > highWaterBytes && !signal.aborted && socket.connected) {
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.conn.off('drain', done);
        socket.conn.off('close', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      socket.conn.on('drain', done);
      socket.conn.on('close', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** `data` in pieces of about `size` characters, never splitting a surrogate pair. */
export function* chunksOf(data: string, size: number): Generator<string> {
  let start = 0;
  while (start < data.length) {
    let end = Math.min(data.length, start + size);
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff && end - 1 > start) end -= 1;
    yield data.slice(start, end);
    start = end;
  }
}
