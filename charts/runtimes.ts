import yaml from 'js-yaml';
import { type RuntimeCatalog, runtimeSpecOf } from '../contract/runtime-catalog.js';
import { readCatalog } from '../runtimes/catalog.js';
import { chartDir } from './render.js';

// The chart's default Runtimes are runtimes/catalog.yaml's, written where the chart reads them
// (templates/runtimes/runtimes.yaml, when `runtimes.list` is empty) by `make manifests`.
// test/runtimes/catalog.test.ts fails while the committed file differs from what this makes.

export const CHART_RUNTIMES_PATH = `${chartDir}/files/runtimes.yaml`;

const HEADER = `# Generated from runtimes/catalog.yaml by \`make manifests\` (charts/manifests.ts); do not edit.
# The chart's Runtimes when values runtimes.list is empty: each one's name and spec, less its image.
`;

export function chartRuntimesFile(catalog: RuntimeCatalog = readCatalog()): string {
  const runtimes = catalog.runtimes.map((entry) => ({ name: entry.name, ...runtimeSpecOf(entry) }));
  return HEADER + yaml.dump({ runtimes }, { lineWidth: -1, quotingType: '"' });
}
