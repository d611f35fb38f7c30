import type winston from 'winston';
import { createLogger, errorMessage } from '../observability/logger.js';
import { createApp } from './app.js';
import type { ExecutionBackend } from './backend.js';
import { type Config, loadConfig } from './config.js';

// Wires configuration, logger, backend and gateway, listens, and shuts down gracefully.

async function createBackend(config: Config, log: winston.Logger): Promise<ExecutionBackend> {
  if (config.backend === 'kubernetes') {
    const { createKubernetesBackend } = await import('./kubernetes/index.js');
    return createKubernetesBackend(config, log);
  }
  // Loaded only in embedded mode: it prepares a sandbox that the Kubernetes mode does not need.
  const { createEmbeddedBackend } = await import('./embedded/index.js');
  return createEmbeddedBackend(config, log);
}

function fail(message: string): never {
  console.error(`sandpod: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    fail(errorMessage(error));
  }
  const log = createLogger(config.logLevel, 'gateway');

  let backend: ExecutionBackend;
  try {
    backend = await createBackend(config, log);
  } catch (error) {
    log.error('Failed to start backend', { backend: config.backend, error: errorMessage(error) });
    fail(`the ${config.backend} backend could not start: ${errorMessage(error)}`);
  }

  const gateway = createApp({ config, backend, log });
  gateway.httpServer.on('error', (error) => {
    fail(`could not listen on ${config.host}:${config.port}: ${errorMessage(error)}`);
  });
  gateway.httpServer.listen(config.port, config.host, () => {
    const address = gateway.httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    log.info('Started gateway', { url: `http://${host}:${port}/`, backend: config.backend });
  });

  let shuttingDown = false;
  const shutDown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log.warn('Exited at once on a second signal', { signal });
      process.exit(1);
    }
    shuttingDown = true;
    log.info('Received signal; shutting down', { signal, graceMs: config.shutdownGraceMs });
    // Stop accepting connections, let running executions finish within the grace, then close the rest.
    gateway.httpServer.close();
    try {
      await backend.close(config.shutdownGraceMs);
    } catch (error) {
      log.error('Failed to close backend', { error: errorMessage(error) });
    }
    await gateway.close();
    log.info('Stopped gateway');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutDown(signal));
  process.on('SIGINT', (signal) => void shutDown(signal));
}

await main();
