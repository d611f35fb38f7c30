import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parser as promql } from '@prometheus-io/lezer-promql';
import yaml from 'js-yaml';
import { ALERTS_FILE, alertQueries, alertRules, dashboard, dashboardQueries, metricNames } from './monitoring-files.js';
import { findObject, objectsOf } from './rendered.js';

// The Grafana dashboard and the PrometheusRule of the chart (metrics.grafanaDashboard,
// metrics.prometheusRule). That each metric they name exists is monitoring-metrics.sandbox.test.ts.

describe('chart monitoring: Grafana dashboard and alerts', function () {
  this.timeout(60_000);

  it('should render neither by default', () => {
    const kinds = objectsOf('default').map((object) => `${object.kind}/${object.metadata.name}`);

    assert.ok(!kinds.includes('ConfigMap/sandpod-grafana-dashboard'));
    assert.ok(!kinds.some((kind) => kind.startsWith('PrometheusRule/')));
  });

  it('should ship the dashboard in a ConfigMap labelled for the Grafana sidecar when turned on', () => {
    const configMap = findObject<{ data: Record<string, string> }>(
      objectsOf('all-features'),
      'ConfigMap',
      'sandpod-grafana-dashboard',
    );

    assert.equal(configMap.metadata.labels?.grafana_dashboard, '1');
    assert.equal(configMap.metadata.annotations?.grafana_folder, 'sandpod');
    assert.deepEqual(JSON.parse(configMap.data['sandpod.json'] ?? ''), dashboard());
  });

  it('should ship the alert rules in a PrometheusRule when turned on', () => {
    const rule = findObject<{ spec: unknown }>(objectsOf('all-features'), 'PrometheusRule', 'sandpod');

    assert.equal(rule.metadata.labels?.release, 'prometheus');
    assert.deepEqual(rule.spec, yaml.load(readFileSync(ALERTS_FILE, 'utf8')));
  });

  it('should alert on SystemErrors, stuck queues and a missing operator leader', () => {
    const alerts = alertRules().groups.flatMap((group) => group.rules.map((rule) => rule.alert));

    for (const name of [
      'SandpodSystemErrors',
      'SandpodGatewayQueueStuck',
      'SandpodOperatorQueueStuck',
      'SandpodOperatorNoLeader',
    ]) {
      assert.ok(alerts.includes(name), `${name} in ${alerts.join(', ')}`);
    }
    for (const group of alertRules().groups) {
      for (const rule of group.rules) assert.match(rule.labels?.severity ?? '', /^(warning|critical)$/, rule.alert);
    }
  });

  it('should hold only queries that parse as PromQL', () => {
    // Grafana puts its own interval in before Prometheus sees the query.
    const queries = [...dashboardQueries(), ...alertQueries()].map((query) =>
      query.replaceAll('$__rate_interval', '5m'),
    );
    const broken = queries.filter((query) => {
      let error = false;
      promql.parse(query).iterate({
        enter: (node) => {
          if (node.type.isError) error = true;
        },
      });
      return error;
    });

    assert.ok(queries.length > 20);
    assert.deepEqual(broken, []);
  });

  it('should give every panel a query and the dashboard a fixed uid', () => {
    const board = dashboard();

    assert.equal(board.uid, 'sandpod-overview');
    for (const panel of board.panels.filter((each) => each.type !== 'row')) {
      assert.ok((panel.targets ?? []).length > 0, `panel ${panel.title} has no query`);
    }
    assert.ok(metricNames([...dashboardQueries(), ...alertQueries()]).length >= 12);
  });
});
