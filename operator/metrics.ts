import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { PHASES } from '../contract/index.js';
import type { Execution } from '../contract/objects.js';
import { toDate } from './time.js';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram;
  reconcileErrors: Counter;
  executionsFinished: Counter<'phase' | 'reason'>;
  podStartLatency: Histogram;
  apiRateLimitWait: Histogram;
  /** 1 while this replica holds the leader Lease (or runs without leader election), else 0. */
  leader: Gauge;
  executionsServed: Counter<'namespace' | 'mode' | 'pool'>;
  warmClaimToFirstOutput: Histogram<'namespace' | 'pool'>;
}

/** A pool's pods as the metrics count them. */
export interface PoolCount {
  namespace: string;
  pool: string;
  runtime: string;
  ready: number;
  desired: number;
}

/** Each operator has its own registry, so tests can build many side by side. */
export function createMetrics(load: {
  queueDepth(): number;
  executions(): Iterable<Execution>;
  pools?(): Iterable<PoolCount>;
}): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sandpod_operator_' });
  new Gauge({
    name: 'sandpod_operator_queue_depth',
    help: 'Keys waiting in the work queue',
    registers: [registry],
    collect() {
      this.set(load.queueDepth());
    },
  });
  new Gauge({
    name: 'sandpod_operator_executions',
    help: 'Executions known to the operator, by phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(PHASES.map((phase) => [phase, 0]));
      for (const execution of load.executions()) {
        const phase = execution.status?.phase ?? 'Pending';
        counts.set(phase, (counts.get(phase) ?? 0) + 1);
      }
      for (const [phase, count] of counts) this.set({ phase }, count);
    },
  });
  new Gauge({
    name: 'sandpod_operator_warm_pool_ready_pods',
    help: 'Unclaimed pods of a WarmPool whose launcher waits for a program',
    labelNames: ['namespace', 'pool', 'runtime'],
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of load.pools?.() ?? [])
        this.set({ namespace: pool.namespace, pool: pool.pool, runtime: pool.runtime }, pool.ready);
    },
  });
  new Gauge({
    name: 'sandpod_operator_warm_pool_desired_pods',
    help: 'spec.replicas of a WarmPool',
    labelNames: ['namespace', 'pool', 'runtime'],
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of load.pools?.() ?? [])
        this.set({ namespace: pool.namespace, pool: pool.pool, runtime: pool.runtime }, pool.desired);
    },
  });
  return {
    registry,
    executionsServed: new Counter({
      name: 'sandpod_operator_executions_served_total',
      help: 'Executions given a pod: mode warm (a claimed WarmPool pod, pool names it) or cold (a pod made for it)',
      labelNames: ['namespace', 'mode', 'pool'],
      registers: [registry],
    }),
    warmClaimToFirstOutput: new Histogram({
      name: 'sandpod_operator_warm_claim_to_first_output_seconds',
      help: "From the claim of a warm pod to its launcher's first output, which says it took the program",
      labelNames: ['namespace', 'pool'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'sandpod_operator_reconcile_duration_seconds',
      help: 'Time one reconcile pass took',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'sandpod_operator_reconcile_errors_total',
      help: 'Reconcile passes that failed and were retried',
      registers: [registry],
    }),
    executionsFinished: new Counter({
      name: 'sandpod_operator_executions_finished_total',
      help: 'Executions that reached a terminal phase, by phase and reason',
      labelNames: ['phase', 'reason'],
      registers: [registry],
    }),
    podStartLatency: new Histogram({
      name: 'sandpod_operator_pod_start_latency_seconds',
      help: 'From an Execution created to its program (or compiler) running',
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
    apiRateLimitWait: new Histogram({
      name: 'sandpod_operator_api_rate_limiter_wait_seconds',
      help: 'Time each request to the API server waited for the client-side rate limit (config api.qps, api.burst)',
      buckets: [0, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'sandpod_operator_leader',
      help: 'Whether this replica leads (holds the leader Lease, or runs without leader election) and so reconciles',
      registers: [registry],
    }),
  };
}

/** Seconds from creation to start, for the start latency histogram. */
export function startLatencySeconds(execution: Execution, startedAt: string | null): number | undefined {
  const created = toDate(execution.metadata.creationTimestamp);
  const started = toDate(startedAt);
  if (!created || !started) return undefined;
  return Math.max(0, (started.getTime() - created.getTime()) / 1000);
}
