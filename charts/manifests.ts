import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { generatedCrds } from '../operator/crd/generate.js';
import { chartDir, ciValues, type RenderedDocument, renderChart, repoRoot } from './render.js';
import { CHART_RUNTIMES_PATH, chartRuntimesFile } from './runtimes.js';

// manifests/ is generated from the chart, so the plain YAML and the Helm install cannot drift:
//   node --import=tsx charts/manifests.ts      (make manifests)
// test/charts/manifests.test.ts fails while the committed files differ from what this produces.
// The chart's crds/ are the CRD generator's output (operator/crd/generate.ts), copied here too, and
// its default Runtimes (files/runtimes.yaml) are runtimes/catalog.yaml's (charts/runtimes.ts),
// written first so that manifests/runtimes/ renders from them.

export const MANIFEST_DIR = `${repoRoot}manifests/`;
export const CHART_CRD_DIR = `${chartDir}/crds/`;
/** Folders of manifests/ that are wholly generated; a file there that this does not make is stale. */
export const GENERATED_DIRS = ['gateway', 'nodes', 'operator', 'rbac', 'runtimes', 'tenant'];

const HEADER = '# Generated from charts/sandpod by `make manifests` (charts/manifests.ts); do not edit.\n';

/** Where a rendered document goes under manifests/. */
function fileOf(document: RenderedDocument): string {
  const { source, object } = document;
  if (object.kind === 'Namespace') return 'namespaces.yaml';
  if (source.startsWith('templates/runtimes/')) return `runtimes/${object.metadata.name}.yaml`;
  if (!source.startsWith('templates/')) throw new Error(`unexpected chart file ${source}`);
  return source.slice('templates/'.length);
}

/**
 * manifests/tenant/ holds what one tenant namespace needs, without a namespace, for
 * `kubectl apply -n <namespace> -f manifests/tenant/`; the kustomization puts it in sandpod-default.
 */
function withoutNamespace(document: RenderedDocument): string {
  const text = document.text.replace(/^(metadata:\n(?: {2}.*\n)*?) {2}namespace: .*\n/m, '$1');
  const object = yaml.load(text) as RenderedDocument['object'];
  if (object.metadata.namespace !== undefined || object.metadata.name !== document.object.metadata.name) {
    throw new Error(`could not take the namespace out of ${document.source}`);
  }
  return text;
}

/** Relative path under manifests/ → content, for every generated file. */
export function manifestFiles(documents: RenderedDocument[] = renderChart({ valuesFiles: [ciValues('manifests')] })) {
  const parts = new Map<string, string[]>();
  const tenantNamespaces = new Set<string>();
  for (const document of documents) {
    const file = fileOf(document);
    const isTenant = file.startsWith('tenant/');
    if (isTenant) tenantNamespaces.add(document.object.metadata.namespace ?? '');
    parts.set(file, [...(parts.get(file) ?? []), isTenant ? withoutNamespace(document) : document.text]);
  }
  if (tenantNamespaces.size !== 1) {
    throw new Error(`manifests/tenant/ is made for one tenant namespace, the values give ${[...tenantNamespaces]}`);
  }
  const files = new Map<string, string>();
  for (const [file, texts] of [...parts].sort(([a], [b]) => a.localeCompare(b))) {
    files.set(file, HEADER + texts.join('---\n'));
  }
  files.set('kustomization.yaml', kustomization([...files.keys()], [...tenantNamespaces][0] ?? ''));
  return files;
}

/** For `kubectl apply -k manifests/` once the CRDs are established (they are applied first, apart). */
function kustomization(files: string[], tenantNamespace: string): string {
  const body = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: files,
    patches: [
      {
        target: { kind: 'NetworkPolicy|ResourceQuota|LimitRange', name: 'sandpod-.*' },
        patch: yaml.dump([{ op: 'add', path: '/metadata/namespace', value: tenantNamespace }]),
      },
    ],
  };
  return `${HEADER}# The CRDs first, apart, so the Runtimes find their kind:
#   kubectl apply -f manifests/crds/ && kubectl wait --for=condition=Established crd --all
#   kubectl apply -k manifests/
# manifests/tenant/ goes to ${tenantNamespace} (the tenant \`default\`); for another tenant
# namespace: kubectl apply -n <namespace> -f manifests/tenant/
${yaml.dump(body, { lineWidth: -1 })}`;
}

/** The chart's crds/ → content: the generator's output, as manifests/crds holds it. */
export const chartCrdFiles = () => new Map(Object.entries(generatedCrds()));

/** Files in the generated folders that the chart no longer makes. */
export function staleFiles(files: Map<string, string>): string[] {
  const stale: string[] = [];
  for (const dir of GENERATED_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(`${MANIFEST_DIR}${dir}`);
    } catch {
      continue;
    }
    for (const name of names) if (!files.has(`${dir}/${name}`)) stale.push(`${dir}/${name}`);
  }
  return stale;
}

export function readManifest(file: string): string | undefined {
  try {
    return readFileSync(`${MANIFEST_DIR}${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runtimes = chartRuntimesFile();
  if (!existsSync(CHART_RUNTIMES_PATH) || readFileSync(CHART_RUNTIMES_PATH, 'utf8') !== runtimes) {
    writeFileSync(CHART_RUNTIMES_PATH, runtimes);
    console.error('Wrote charts/sandpod/files/runtimes.yaml');
  }
  const files = manifestFiles();
  for (const file of staleFiles(files)) {
    rmSync(`${MANIFEST_DIR}${file}`);
    console.error(`Removed manifests/${file}`);
  }
  for (const [file, content] of files) {
    mkdirSync(dirname(`${MANIFEST_DIR}${file}`), { recursive: true });
    if (readManifest(file) === content) continue;
    writeFileSync(`${MANIFEST_DIR}${file}`, content);
    console.error(`Wrote manifests/${file}`);
  }
  for (const [name, content] of chartCrdFiles()) writeFileSync(`${CHART_CRD_DIR}${name}`, content);
}
