import { createServer, type Server as HttpServer } from 'node:http';
import express, { type Express } from 'express';
import type winston from 'winston';
import type { ExecutionBackend } from './backend.js';
import { sharedDispatcher } from './callbacks/shared-dispatcher.js';
import { memoryDeliveryStore } from './callbacks/store.js';
import { judge0Routes } from './compat/judge0/routes.js';
import { attachPistonConnect } from './compat/piston/connect.js';
import { pistonRoutes } from './compat/piston/routes.js';
import type { Config } from './config.js';
import { notFound } from './errors.js';
import { apiDocsPage, openApiRoutes } from './http/api-description-routes.js';
import { apiErrorHandler } from './http/api-errors.js';
import { executionsRoutes } from './http/executions-routes.js';
import { healthRoutes } from './http/health-routes.js';
import { requestContext } from './http/request-context.js';
import { requireTenant } from './http/require-tenant.js';
import { webPage } from './http/web-page.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createSocketServer, type GatewayIo } from './socket/socket-server.js';
import { createAdmission } from './tenancy/admission.js';
import { createAuthenticator } from './tenancy/authenticate.js';
import { TenantConnections } from './tenancy/tenant-connections.js';
import { configuredTenants } from './tenancy/tenant-directory.js';
import { createTenantExecutions } from './tenancy/tenant-executions.js';
import { watchTenantMetrics } from './tenancy/tenant-metrics.js';

export interface GatewayOptions {
  config: Config;
  backend: ExecutionBackend;
  log: winston.Logger;
  metrics?: GatewayMetrics;
  /** Folder of the web bundle; the built one of this repository by default. */
  webDir?: string;
}

export interface Gateway {
  app: Express;
  httpServer: HttpServer;
  io: GatewayIo;
  metrics: GatewayMetrics;
  /** Closes sockets and the HTTP server; the backend stays open (its owner closes it). */
  close(): Promise<void>;
}

/** Builds the REST API, the socket server and the web page on one HTTP server, without listening. */
export function createApp(options: GatewayOptions): Gateway {
  const { config, backend, log } = options;
  const metrics = options.metrics ?? createMetrics(() => backend.load());
  const tenants = backend.tenants ?? configuredTenants(config);
  watchTenantMetrics(metrics.registry, tenants);
  const authenticate = createAuthenticator(tenants, config);
  if (!tenants.tokensRequired) {
    log.warn('Serving without tokens', {
      served: 'clients on loopback only, as tenant default',
      refused:
        'requests carrying proxy headers (Forwarded, X-Forwarded-For, X-Real-IP, Via, ...): behind a proxy every client looks local',
    });
  }
  const unfinished = backend.unfinished?.bind(backend);
  const callbacks = sharedDispatcher(
    {
      store: backend.deliveryStore ?? memoryDeliveryStore(),
      secretOf: (tenant) => tenants.find(tenant)?.callbackSecret,
      log,
      ...config.callbacks,
    },
    (dispatcher) =>
      dispatcher.resume().catch((error: unknown) => {
        log.error('Failed to resume callback deliveries', {
          error: error instanceof Error ? error.message : String(error),
        });
      }),
  );
  const executions = createTenantExecutions({
    backend,
    admission: createAdmission(Date.now, unfinished),
    metrics,
    log,
    maxStdinBytes: config.socket.maxStdinBytes,
    currentTenant: (tenant) => (tenants.tokensRequired ? tenants.find(tenant.name) : tenant),
    callbacks: callbacks.dispatcher,
  });

  const connections = new TenantConnections();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(log, metrics));
  app.use(healthRoutes(backend, metrics));
  app.use('/api/v1', openApiRoutes());
  app.use('/api/docs', apiDocsPage(options.webDir));
  app.use(
    '/api/v1',
    requireTenant(authenticate),
    express.json({ limit: config.http.bodyLimitBytes, strict: true }),
    executionsRoutes({
      executions,
      connections,
      maxWaitMs: config.http.maxWaitMs,
      cancelWaitMs: config.http.cancelWaitMs,
    }),
  );
  app.use(
    '/judge0',
    judge0Routes({
      executions,
      connections,
      authenticate,
      log,
      bodyLimitBytes: config.http.bodyLimitBytes,
      maxWaitMs: config.http.maxWaitMs,
      callbacks: config.callbacks,
    }),
  );
  app.use(
    '/piston/api/v2',
    pistonRoutes({
      executions,
      connections,
      authenticate,
      log,
      bodyLimitBytes: config.http.bodyLimitBytes,
      maxWaitMs: config.http.maxWaitMs,
    }),
  );
  app.use('/api', () => {
    throw notFound('route');
  });
  app.use(webPage(options.webDir));
  app.use(() => {
    throw notFound('page');
  });
  app.use(apiErrorHandler(log));

  const httpServer = createServer(app);
  const sockets = createSocketServer(httpServer, {
    config,
    tenants,
    authenticate,
    executions,
    connections,
    metrics,
    log,
  });
  const pistonConnect = attachPistonConnect(httpServer, { executions, authenticate, connections, log });

  return {
    app,
    httpServer,
    io: sockets.io,
    metrics,
    close: async () => {
      callbacks.release();
      pistonConnect.close();
      const closing = sockets.close();
      // Keep-alive and long-polling connections would otherwise hold the server open.
      httpServer.closeAllConnections();
      await closing;
    },
  };
}
