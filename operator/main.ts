import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../kube/pooled-kube-config.js';
import { RequestLimiter } from '../kube/request-limiter.js';
import { createLogger, errorMessage } from '../observability/logger.js';
import { loadOperatorConfig, type OperatorConfig } from './config.js';
import { createInformers } from './informers.js';
import { describeError, KubeClusterApi } from './kube.js';
import { LeaderElector } from './leader.js';
import { createMetrics, startLatencySeconds } from './metrics.js';
import { PoolReconciler } from './pool-reconciler.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';
import { isPoolMember, isReady } from './warm-pool.js';

// Wiring only: configuration, clients, leader Lease, informers, queue, workers, metrics, and a
// shutdown that lets running passes finish.

export async function runOperator(config: OperatorConfig): Promise<void> {
  const log = createLogger(config.logLevel, 'operator');
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const queue = new WorkQueue(config.queue);
  // WarmPools have a queue and a worker of their own: a backlog of Executions never delays the
  // replacement of claimed pods.
  const poolQueue = new WorkQueue(config.queue);
  const metrics = createMetrics({
    queueDepth: () => queue.depth,
    executions: () => informers.executions.list(),
    pools: () =>
      informers.pools.list().map((pool) => ({
        namespace: pool.metadata.namespace,
        pool: pool.metadata.name,
        runtime: pool.spec.runtime,
        desired: pool.spec.replicas,
        ready: informers.cache
          .poolPods(pool.metadata.namespace, pool.metadata.name)
          .filter((pod) => isPoolMember(pod, pool) && isReady(pod)).length,
      })),
  });
  const limiter =
    config.api.qps > 0
      ? new RequestLimiter({
          ratePerSecond: config.api.qps,
          burst: config.api.burst,
          onWaited: (waitedMs) => metrics.apiRateLimitWait.observe(waitedMs / 1000),
        })
      : undefined;
  const kubeConfig = new PooledKubeConfig(undefined, limiter);
  kubeConfig.loadFromDefault();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);

  const informers = createInformers({
    kubeConfig,
    core,
    custom,
    namespace: config.watchNamespace,
    enqueue: (key) => queue.add(key),
    enqueuePool: (key) => poolQueue.add(key),
    log,
    backoff: { baseMs: config.watch.baseDelayMs, maxMs: config.watch.maxDelayMs },
  });
  const clusterApi = new KubeClusterApi(
    core,
    custom,
    kubeConfig.makeApiClient(EventsV1Api),
    identity,
    config.status.logReadTimeoutMs,
    kubeConfig,
  );
  const poolReconciler = new PoolReconciler(clusterApi, informers.cache, config, log);
  const reconciler = new Reconciler(clusterApi, informers.cache, config, log, () => new Date(), {
    onStarted: (execution, status) => {
      const seconds = startLatencySeconds(execution, status.startedAt);
      if (seconds !== undefined) metrics.podStartLatency.observe(seconds);
    },
    onFinished: (_execution, status) =>
      metrics.executionsFinished.inc({ phase: status.phase, reason: status.reason ?? 'Unknown' }),
    onServed: (execution, pool) =>
      metrics.executionsServed.inc({
        namespace: execution.metadata.namespace,
        mode: pool === undefined ? 'cold' : 'warm',
        pool: pool ?? '',
      }),
    onDelivered: (execution, pool, seconds) =>
      metrics.warmClaimToFirstOutput.observe({ namespace: execution.metadata.namespace, pool }, seconds),
    // The held attach of a warm run brought the launcher's last report: judged now, not when the
    // kubelet next reports the pod.
    requeue: (key) => queue.add(key),
  });

  let ready = false;
  const server = createServer((request, response) => {
    if (request.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (error) => response.writeHead(500).end(errorMessage(error)),
      );
    } else if (request.url === '/healthz') {
      response.writeHead(200).end('ok');
    } else if (request.url === '/readyz') {
      const problem = ready ? informers.problem : 'not leading or not synced';
      response.writeHead(problem ? 503 : 200).end(problem ?? 'ok');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(config.metrics.port, config.metrics.host, resolve));
  log.info('Started metrics server', { port: config.metrics.port });

  let stopping = false;
  const elector = config.leaderElection.enabled
    ? new LeaderElector({
        api: leaseKubeConfig().makeApiClient(CoordinationV1Api),
        name: config.leaderElection.leaseName,
        namespace: config.leaderElection.leaseNamespace,
        identity,
        timing: config.leaderElection,
        log,
      })
    : undefined;
  const workers: Promise<void>[] = [];

  const stop = (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      log.info('Stopping operator', { why });
      metrics.leader.set(0);
      queue.shutDown();
      poolQueue.shutDown();
      const grace = new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
      await Promise.race([Promise.allSettled(workers), grace]);
      await informers.stop().catch(() => undefined);
      await elector?.release().catch(() => undefined);
      server.close();
      log.info('Stopped operator', { why });
      process.exit(exitCode);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));

  if (elector) {
    await elector.acquire();
    // A replica that cannot renew must stop at once: another one is about to take over.
    elector.keepRenewing(() => stop('lost the leader Lease', 1));
  }
  metrics.leader.set(1);
  await informers.start();
  log.info('Synced caches', {
    executions: informers.executions.list().length,
    pods: informers.pods.list().length,
    runtimes: informers.runtimes.list().length,
  });
  ready = true;

  workers.push(
    (async () => {
      for (;;) {
        const key = await poolQueue.take();
        if (key === undefined) return;
        try {
          const result = await poolReconciler.reconcile(key);
          poolQueue.forget(key);
          if (result.requeueAfterMs !== undefined) poolQueue.addAfter(key, result.requeueAfterMs);
        } catch (error) {
          metrics.reconcileErrors.inc();
          const retryInMs = poolQueue.retry(key);
          log.warn('Failed to reconcile a WarmPool; will retry', {
            warmPool: key,
            error: describeError(error),
            retryInMs,
          });
        } finally {
          poolQueue.done(key);
        }
      }
    })(),
  );
  for (let worker = 0; worker < config.queue.workers; worker += 1) {
    workers.push(
      (async () => {
        for (;;) {
          const key = await queue.take();
          if (key === undefined) return;
          const endTimer = metrics.reconcileDuration.startTimer();
          try {
            const result = await reconciler.reconcile(key);
            queue.forget(key);
            if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
          } catch (error) {
            metrics.reconcileErrors.inc();
            const retryInMs = queue.retry(key);
            log.warn('Failed to reconcile; will retry', { execution: key, error: describeError(error), retryInMs });
          } finally {
            endTimer();
            queue.done(key);
          }
        }
      })(),
    );
  }
}

/**
 * The Lease has a client of its own, outside the rate limit, as kube-controller-manager's leader
 * election does: a renewal queued behind a backlog of work must not cost the lead.
 */
function leaseKubeConfig(): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runOperator(loadOperatorConfig()).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
