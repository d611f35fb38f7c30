import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  executionsStarted: Counter<'runtime'>;
  executionsFinished: Counter<'runtime' | 'reason'>;
  runDuration: Histogram<'runtime'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  socketConnections: Gauge;
}

/** Each gateway has its own registry, so tests can build many side by side. */
export function createMetrics(load: () => { running: number; queued: number }): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'sandpod_executions_running',
    help: 'Executions running now',
    registers: [registry],
    collect() {
      this.set(load().running);
    },
  });
  new Gauge({
    name: 'sandpod_executions_queued',
    help: 'Executions accepted and waiting for a slot',
    registers: [registry],
    collect() {
      this.set(load().queued);
    },
  });
  return {
    registry,
    executionsStarted: new Counter({
      name: 'sandpod_executions_started_total',
      help: 'Executions accepted, by runtime',
      labelNames: ['runtime'],
      registers: [registry],
    }),
    executionsFinished: new Counter({
      name: 'sandpod_executions_finished_total',
      help: 'Executions that reached a terminal phase, by runtime and reason',
      labelNames: ['runtime', 'reason'],
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: 'sandpod_execution_run_duration_seconds',
      help: 'Wall time of the run step of finished executions',
      labelNames: ['runtime'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'sandpod_http_requests_total',
      help: 'HTTP requests served, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    socketConnections: new Gauge({
      name: 'sandpod_socket_connections',
      help: 'Socket.IO connections open now',
      registers: [registry],
    }),
  };
}
