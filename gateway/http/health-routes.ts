import { Router } from 'express';
import type { ExecutionBackend } from '../backend.js';
import type { GatewayMetrics } from '../metrics.js';

/** Probes and metrics at the root, without auth: they tell nothing about any tenant. */
export function healthRoutes(backend: ExecutionBackend, metrics: GatewayMetrics): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    if (await backend.ready()) {
      res.json({ status: 'ready' });
      return;
    }
    res.status(503).json({ error: { code: 'not_ready', message: 'the execution backend is not ready' } });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return router;
}
