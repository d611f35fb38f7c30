import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { chartDir } from '../../charts/render.js';

// The Grafana dashboard and the alert rules the chart ships, and the metric names they use.

export interface Dashboard {
  uid: string;
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
}
export interface AlertRules {
  groups: { name: string; rules: { alert: string; expr: string; labels?: Record<string, string> }[] }[];
}

export const DASHBOARD_FILE = path.join(chartDir, 'files/grafana/sandpod-dashboard.json');
export const ALERTS_FILE = path.join(chartDir, 'files/prometheus/alerts.yaml');

export const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
export const alertRules = (): AlertRules => yaml.load(readFileSync(ALERTS_FILE, 'utf8')) as AlertRules;

export function dashboardQueries(board: Dashboard = dashboard()): string[] {
  return board.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

export function alertQueries(rules: AlertRules = alertRules()): string[] {
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

/** Every sandpod metric a PromQL expression names (ours all start with `sandpod_`). */
export function metricNames(expressions: string[]): string[] {
  return [...new Set(expressions.flatMap((expression) => expression.match(/\bsandpod_[a-z0-9_]+/g) ?? []))].sort();
}
