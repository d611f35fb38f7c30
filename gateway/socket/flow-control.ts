import type { Socket } from 'socket.io';

/**
 * Packets a socket may have waiting for a slow reader before following pauses. Pausing leaves the
 * output in the backend, which caps it per execution, so a client that never reads cannot grow
 * the gateway's memory.
 */
const HIGH_WATER_PACKETS = 32;

// engine.io keeps unsent packets in `writeBuffer` (not in its typings) and emits `drain` once it
// has handed them to the transport.
function waitingPackets(socket: Socket): number {
  return (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
}

/** Resolves once the socket can take more, or the signal aborts. */
export async function whenWritable(socket: Socket, signal: AbortSignal): Promise<void> {
  while (waitingPackets(socket) > HIGH_WATER_PACKETS && !signal.aborted && socket.connected) {
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
