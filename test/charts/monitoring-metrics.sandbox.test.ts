import assert from 'node:assert/strict';
import { createMetrics as createOperatorMetrics } from '../../operator/metrics.js';
import { type EmbeddedFixture, startEmbedded } from '../helpers/embedded.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { alertQueries, dashboardQueries, metricNames } from './monitoring-files.js';

// Every metric the Grafana dashboard and the alert rules name must be one a sandpod process
// exports: the gateway is started for real (embedded mode, in this process) and its /metrics
// read; the operator's registry is built as operator/main.ts builds it and read without a cluster.

/** Sample names an exposition offers: each family, and a histogram's _bucket, _sum and _count. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name = '', type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('chart monitoring: metrics the dashboard and alerts name (embedded sandbox)', function () {
  this.timeout(60_000);
  let sandbox: EmbeddedFixture | undefined;
  let gateway: RunningGateway | undefined;
  let exported = new Set<string>();

  before(async () => {
    sandbox = await startEmbedded();
    gateway = await startGateway(sandbox.config, sandbox.backend);
    const response = await fetch(`${gateway.url}/metrics`);
    assert.equal(response.status, 200);
    const operator = createOperatorMetrics({ queueDepth: () => 0, executions: () => [] });
    exported = new Set([...exportedNames(await response.text()), ...exportedNames(await operator.registry.metrics())]);
  });

  after(async () => {
    await gateway?.close();
    await sandbox?.close();
  });

  it('should find the gateway\u2019s and the operator\u2019s families when their metrics are read', () => {
    assert.ok(exported.has('sandpod_executions_finished_total'), [...exported].join(' '));
    assert.ok(exported.has('sandpod_operator_queue_depth'));
    assert.ok(!exported.has('sandpod_no_such_metric'));
  });

  it('should export every metric the Grafana dashboard queries', () => {
    const missing = metricNames(dashboardQueries()).filter((name) => !exported.has(name));

    assert.deepEqual(missing, []);
  });

  it('should export every metric the alert rules query', () => {
    const missing = metricNames(alertQueries()).filter((name) => !exported.has(name));

    assert.deepEqual(missing, []);
  });
});
