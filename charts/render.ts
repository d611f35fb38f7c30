import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

// Runs helm against charts/sandpod and splits what `helm template` prints into its documents, each
// with the chart file it came from. helm is the pinned build that scripts/tool-path.sh helm finds or
// builds ($SANDPOD_HELM, the cache, or a helm of the pinned version on PATH).

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const chartDir = `${repoRoot}charts/sandpod`;
export const ciValues = (name: string) => `${chartDir}/ci/${name}-values.yaml`;

let helmPathMemo: string | undefined;

export function helmPath(): string {
  if (helmPathMemo) return helmPathMemo;
  const found = spawnSync(`${repoRoot}scripts/tool-path.sh`, ['helm'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = found.stdout?.trim();
  if (found.status !== 0 || !path) throw new Error('scripts/tool-path.sh helm found no helm and could not build one');
  helmPathMemo = path;
  return path;
}

export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], env: NodeJS.ProcessEnv = {}): HelmResult {
  const result = spawnSync(helmPath(), args, {
    encoding: 'utf8',
    // helm keeps caches and repository files under HOME; tests must not depend on the user's.
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/sandpod-helm/cache',
      HELM_CONFIG_HOME: '/tmp/sandpod-helm/config',
      HELM_DATA_HOME: '/tmp/sandpod-helm/data',
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  /** `--set` pairs, as `key=value`. */
  set?: string[];
  /** Include crds/ in the output. */
  includeCrds?: boolean;
}

export function templateArgs(options: TemplateOptions): string[] {
  const args = [options.release ?? 'sandpod', chartDir, '--namespace', options.namespace ?? 'sandpod-system'];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const pair of options.set ?? []) args.push('--set', pair);
  if (options.includeCrds) args.push('--include-crds');
  return args;
}

/** `helm template`; throws with helm's message when the chart refuses the values. */
export function renderChart(options: TemplateOptions = {}): RenderedDocument[] {
  const result = helm(['template', ...templateArgs(options)]);
  if (!result.ok) throw new Error(`helm template failed:\n${result.stderr}`);
  return splitDocuments(result.stdout);
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderedDocument {
  /** The chart file it came from, such as `templates/rbac/gateway.yaml` or `crds/x.yaml`. */
  source: string;
  /** The document as helm printed it, comments included, without the `# Source:` line. */
  text: string;
  object: K8sObject;
}

export function splitDocuments(output: string): RenderedDocument[] {
  const documents: RenderedDocument[] = [];
  for (const chunk of output.split(/^---\s*$/m)) {
    const source = /^# Source: [^/]+\/(.+)$/m.exec(chunk)?.[1];
    const text = `${chunk
      .replace(/^# Source: .*\n/m, '')
      .replace(/^\s*\n/, '')
      .trimEnd()}\n`;
    const object = yaml.load(text) as K8sObject | null | undefined;
    if (!object) continue;
    if (!source) throw new Error(`a rendered document has no # Source line:\n${text}`);
    documents.push({ source, text, object });
  }
  return documents;
}

/** `kind/namespace/name`, the identity of an object in a cluster. */
export const objectKey = (object: K8sObject) =>
  `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
