import {
  ciValues,
  type K8sObject,
  type RenderedDocument,
  renderChart,
  type TemplateOptions,
} from '../../charts/render.js';

// What the chart renders for the values sets under charts/sandpod/ci/, rendered once per run.

export const VALUES_SETS = [
  'default',
  'all-features',
  'watch-all',
  'tenants-secret',
  'dev-cluster',
  'manifests',
] as const;
export type ValuesSet = (typeof VALUES_SETS)[number];

export const optionsOf = (set: ValuesSet): TemplateOptions =>
  set === 'default' ? {} : { valuesFiles: [ciValues(set)] };

const memo = new Map<ValuesSet, RenderedDocument[]>();

export function rendered(set: ValuesSet): RenderedDocument[] {
  let documents = memo.get(set);
  if (!documents) {
    documents = renderChart(optionsOf(set));
    memo.set(set, documents);
  }
  return documents;
}

export const objectsOf = (set: ValuesSet): K8sObject[] => rendered(set).map((document) => document.object);

/** The object of that kind and name; T describes the fields the caller reads. */
export function findObject<T = unknown>(
  objects: K8sObject[],
  kind: string,
  name: string,
  namespace?: string,
): K8sObject & T {
  const found = objects.find(
    (object) =>
      object.kind === kind &&
      object.metadata.name === name &&
      (namespace === undefined || object.metadata.namespace === namespace),
  );
  if (!found) throw new Error(`no ${kind} ${namespace ? `${namespace}/` : ''}${name} in the rendered chart`);
  return found as K8sObject & T;
}

export interface PodTemplate {
  owner: K8sObject;
  spec: {
    containers: Container[];
    initContainers?: Container[];
    securityContext?: Record<string, unknown>;
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    volumes?: { name: string; hostPath?: unknown }[];
    [key: string]: unknown;
  };
}

export interface Container {
  name: string;
  image: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  [key: string]: unknown;
}

/** The pod templates of every workload the chart renders. */
export function podTemplates(objects: K8sObject[]): PodTemplate[] {
  return objects
    .filter((object) => ['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(object.kind))
    .map((owner) => ({
      owner,
      spec: (owner.spec as { template: { spec: PodTemplate['spec'] } }).template.spec,
    }));
}

/** The data of a rendered ConfigMap's one file, parsed as YAML by the caller. */
export function configMapFile(objects: K8sObject[], name: string, file: string): string {
  const data = (findObject(objects, 'ConfigMap', name) as { data?: Record<string, string> }).data ?? {};
  const content = data[file];
  if (content === undefined) throw new Error(`ConfigMap ${name} has no ${file}`);
  return content;
}
