import { SandpodApiError } from '../client/api-error.js';
import { RunClient } from '../client/run-client.js';
import type { ExecutionResult } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';

// One execution over Socket.IO with the terminal attached: output written as it comes, the
// terminal's input sent as typed, Ctrl-C (SIGINT) cancels it, a second Ctrl-C gives up waiting.

export interface LiveRunOptions {
  server: string;
  token: string | undefined;
  request: ExecutionRequest;
  /** Where output goes; nothing when the caller only wants the result (--json). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** The terminal's input, passed live (the request is then interactive). */
  input?: NodeJS.ReadableStream;
  onAccepted?(id: string): void;
}

/** How long the command keeps trying to reach a server that went away before it gives up. */
const RECONNECT_PATIENCE_MS = 30_000;

export function liveRun(options: LiveRunOptions): Promise<ExecutionResult> {
  let giveUp: (() => void) | undefined;
  let patience: NodeJS.Timeout | undefined;
  const onConnection = (state: string) => {
    if (state === 'connected') {
      clearTimeout(patience);
      patience = undefined;
    } else if (state === 'reconnecting' && patience === undefined) {
      patience = setTimeout(() => giveUp?.(), RECONNECT_PATIENCE_MS);
    }
  };
  const client = new RunClient(
    { server: options.server, token: options.token, transports: ['websocket'] },
    onConnection,
  );
  const { input } = options;
  let interrupts = 0;
  // After a reconnect the server replays the output from the start; what was written is skipped.
  const written = { stdout: 0, stderr: 0 };
  const replayed = { stdout: 0, stderr: 0 };
  const write = (stream: 'stdout' | 'stderr', data: string) => {
    const skip = Math.min(written[stream] - replayed[stream], data.length);
    replayed[stream] += skip;
    const fresh = data.slice(skip);
    if (fresh === '') return;
    written[stream] += fresh.length;
    replayed[stream] += fresh.length;
    (stream === 'stdout' ? options.stdout : options.stderr)?.write(fresh);
  };

  return new Promise<ExecutionResult>((resolve, reject) => {
    const onData = (chunk: Buffer | string) => client.stdin(chunk.toString());
    const onEnd = () => client.endStdin();
    const onInterrupt = () => {
      interrupts += 1;
      if (interrupts === 1) {
        client.cancel();
        return;
      }
      finish();
      reject(new SandpodApiError(0, { code: 'interrupted', message: 'interrupted before the execution ended' }));
    };
    const finish = () => {
      clearTimeout(patience);
      process.off('SIGINT', onInterrupt);
      input?.off('data', onData);
      input?.off('end', onEnd);
      // A terminal's input would otherwise keep the process waiting for a line.
      if (input && 'pause' in input) (input as NodeJS.ReadStream).pause();
      client.close();
    };

    giveUp = () => {
      finish();
      reject(
        new SandpodApiError(0, { code: 'lost', message: `lost the server for ${RECONNECT_PATIENCE_MS / 1000} s` }),
      );
    };
    process.on('SIGINT', onInterrupt);
    client.run(options.request, {
      onAccepted: (id) => options.onAccepted?.(id),
      onReplay: () => {
        replayed.stdout = 0;
        replayed.stderr = 0;
      },
      onOutput: write,
      onStatus: () => {},
      onExit: (result) => {
        finish();
        resolve(result);
      },
      onError: (error) => {
        finish();
        reject(new SandpodApiError(0, error));
      },
    });
    if (input) {
      input.on('data', onData);
      input.on('end', onEnd);
    }
  });
}
