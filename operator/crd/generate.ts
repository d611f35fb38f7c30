import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import {
  API_GROUP,
  API_VERSION,
  EXECUTION_KIND,
  executionSpecSchema,
  executionStatusSchema,
  RUNTIME_KIND,
  runtimeSpecSchema,
  WARM_POOL_KIND,
  warmPoolSpecSchema,
  warmPoolStatusSchema,
} from '../../contract/crd.js';
import { LIMIT_NAMES, REQUEST_BOUNDS } from '../../contract/index.js';
import { type SchemaOverlay, type StructuralSchema, toStructural, type ValidationRule } from './structural.js';

// Generates manifests/crds/*.yaml from the contract's zod schemas. Run after changing contract/:
//   node --import=tsx operator/crd/generate.ts
// test/operator/crd.test.ts fails while the committed YAML differs from what this produces.

/**
 * Characters of source, files and stdin together. A pod receives them through one Secret, which
 * holds at most 1 MiB, and the whole Execution must stay well below etcd's 1.5 MiB request limit.
 */
export const SPEC_PAYLOAD_CHARS = 1_000_000;

const IMMUTABLE_SPEC_FIELDS = [
  'runtime',
  'source',
  'files',
  'stdin',
  'args',
  'limits',
  'interactive',
  'expectedOutput',
  'tests',
  'compare',
  'stopOnFirstFailure',
  'callbackUrl',
] as const;

const immutable: ValidationRule = {
  rule: 'self == oldSelf',
  message: 'is immutable; create a new Execution instead',
};

const payloadSize = [
  'has(self.source) ? size(self.source) : 0',
  'has(self.files) ? self.files.map(f, size(f.content)).sum() : 0',
  'has(self.stdin) ? size(self.stdin) : 0',
  'has(self.expectedOutput) ? size(self.expectedOutput) : 0',
  'has(self.tests) ? self.tests.map(t, (has(t.stdin) ? size(t.stdin) : 0) + (has(t.expectedOutput) ? size(t.expectedOutput) : 0)).sum() : 0',
]
  .map((term) => `(${term})`)
  .join(' + ');

const executionSpecOverlay: SchemaOverlay = {
  '': {
    description: 'What to run. Only cancel and ttlSecondsAfterFinished may change after creation.',
    'x-kubernetes-validations': [
      { rule: 'has(self.source) != has(self.files)', message: 'give exactly one of source or files' },
      {
        rule: `${payloadSize} <= ${SPEC_PAYLOAD_CHARS}`,
        message: `source, files, stdin and expected outputs together must be at most ${SPEC_PAYLOAD_CHARS} characters`,
      },
      {
        rule: IMMUTABLE_SPEC_FIELDS.map((field) => `has(self.${field}) == has(oldSelf.${field})`).join(' && '),
        message: `${IMMUTABLE_SPEC_FIELDS.join(', ')} cannot be added or removed after creation`,
      },
      {
        rule: '!has(oldSelf.cancel) || !oldSelf.cancel || (has(self.cancel) && self.cancel)',
        message: 'cancel cannot be undone',
        fieldPath: '.cancel',
      },
    ],
  },
  runtime: { description: 'Name or alias of a Runtime.', 'x-kubernetes-validations': [immutable] },
  source: {
    description: 'The program, written to the Runtime fileName. Exactly one of source or files.',
    maxLength: REQUEST_BOUNDS.sourceBytes,
    'x-kubernetes-validations': [immutable],
  },
  files: {
    description: 'The program as several files, in the working directory. Exactly one of source or files.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    'x-kubernetes-validations': [immutable],
  },
  'files.items.content': { maxLength: REQUEST_BOUNDS.sourceBytes },
  stdin: {
    description: 'Given to the program as standard input, then end of file.',
    maxLength: REQUEST_BOUNDS.stdinBytes,
    'x-kubernetes-validations': [immutable],
  },
  args: {
    description: 'Appended to the Runtime run argv.',
    'x-kubernetes-list-type': 'atomic',
    'x-kubernetes-validations': [immutable],
  },
  limits: {
    description: 'Limits of the run; a limit left out takes the Runtime default, none may exceed its maximum.',
    'x-kubernetes-validations': [immutable],
  },
  interactive: {
    description: 'Keep stdin open for a client attached through the gateway instead of using spec.stdin.',
    'x-kubernetes-validations': [immutable],
  },
  expectedOutput: {
    description: 'Judge the run: Accepted when stdout matches (see compare), else WrongAnswer.',
    maxLength: REQUEST_BOUNDS.judgingBytes,
    'x-kubernetes-validations': [immutable],
  },
  tests: {
    description: 'Compile once, then run once per test, each on a fresh copy of the compiled working directory.',
    'x-kubernetes-list-type': 'atomic',
    'x-kubernetes-validations': [immutable],
  },
  'tests.items.stdin': { maxLength: REQUEST_BOUNDS.judgingBytes },
  'tests.items.expectedOutput': { maxLength: REQUEST_BOUNDS.judgingBytes },
  'tests.items.args': { 'x-kubernetes-list-type': 'atomic' },
  compare: {
    description: 'How stdout is compared: exact, trimmed (default), tokens or float with epsilon.',
    'x-kubernetes-validations': [immutable],
  },
  stopOnFirstFailure: {
    description: 'Skip the tests after the first that did not pass.',
    'x-kubernetes-validations': [immutable],
  },
  callbackUrl: {
    description: 'Where the gateway POSTs the result when the execution ends.',
    maxLength: REQUEST_BOUNDS.callbackUrlLength,
    'x-kubernetes-validations': [immutable],
  },
  ttlSecondsAfterFinished: { description: 'Seconds a finished Execution is kept; unset keeps it until deleted.' },
  cancel: { description: 'Set to true to stop the execution; it ends as Failed with reason Cancelled.' },
};

const runtimeSpecOverlay: SchemaOverlay = {
  '': { description: 'A language: the image that runs it and how to compile and run a program.' },
  image: { description: 'Container image with the toolchain; pulled with imagePullPolicy IfNotPresent.' },
  fileName: { description: 'File name of a single-source program, such as main.c.' },
  compile: {
    description: 'Compiler argv run in the working directory; absent for interpreted languages.',
    'x-kubernetes-list-type': 'atomic',
  },
  run: { description: 'Program argv run in the working directory.', 'x-kubernetes-list-type': 'atomic' },
  aliases: { description: 'Other names clients may use for this Runtime.', 'x-kubernetes-list-type': 'set' },
  limits: {
    'x-kubernetes-validations': LIMIT_NAMES.map((name) => ({
      rule: `!has(self.defaults) || !has(self.maxima) || !has(self.defaults.${name}) || !has(self.maxima.${name}) || self.defaults.${name} <= self.maxima.${name}`,
      message: `defaults.${name} must be at most maxima.${name}`,
    })),
  },
};

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

function crd(options: {
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  spec: StructuralSchema;
  status?: StructuralSchema;
  columns: PrinterColumn[];
  rules?: ValidationRule[];
  /** A scale subresource on spec.replicas (kubectl scale, HorizontalPodAutoscaler). */
  scale?: boolean;
}) {
  const properties: Record<string, StructuralSchema> = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: options.spec,
  };
  if (options.status) properties.status = options.status;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${options.plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'sandpod', 'app.kubernetes.io/part-of': 'sandpod' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        ...(options.shortNames ? { shortNames: options.shortNames } : {}),
        categories: ['sandpod'],
      },
      scope: options.scope,
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          ...(options.status
            ? {
                subresources: {
                  status: {},
                  ...(options.scale
                    ? {
                        scale: {
                          specReplicasPath: '.spec.replicas',
                          statusReplicasPath: '.status.replicas',
                          labelSelectorPath: '.status.selector',
                        },
                      }
                    : {}),
                },
              }
            : {}),
          additionalPrinterColumns: options.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties,
              required: ['spec'],
              ...(options.rules ? { 'x-kubernetes-validations': options.rules } : {}),
            },
          },
        },
      ],
    },
  };
}

/** Status is written whole by the operator; leaving its fields optional lets a newer operator add some. */
function withoutRequired(schema: StructuralSchema): StructuralSchema {
  const { required: _required, properties, items, ...rest } = schema;
  const copy: StructuralSchema = { ...rest };
  if (properties) {
    copy.properties = Object.fromEntries(
      Object.entries(properties).map(([name, child]) => [name, withoutRequired(child)]),
    );
  }
  if (items) copy.items = withoutRequired(items);
  return copy;
}

export function executionCrd() {
  const status = withoutRequired(
    toStructural(executionStatusSchema, {
      '': { description: 'What happened, rebuilt by the operator from the pod on every pass.' },
      conditions: { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
    }),
  );
  // A map list needs its key required, even in an otherwise optional status.
  const condition = status.properties?.conditions?.items;
  if (condition) condition.required = ['type'];
  return crd({
    kind: EXECUTION_KIND,
    plural: 'executions',
    scope: 'Namespaced',
    shortNames: ['ex'],
    rules: [
      {
        rule: 'size(self.metadata.name) <= 63',
        message: 'name must be at most 63 characters: it is the value of the sandpod.dev/execution label',
      },
    ],
    spec: toStructural(executionSpecSchema, executionSpecOverlay),
    status,
    columns: [
      { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
      { name: 'Exit', type: 'integer', jsonPath: '.status.exitCode' },
      { name: 'Duration', type: 'string', jsonPath: '.status.duration', description: 'Wall time of the run step' },
      { name: 'Tests', type: 'string', jsonPath: '.status.testsPassed', description: 'Tests passed of all tests' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Pod', type: 'string', jsonPath: '.status.podName', priority: 1 },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ],
  });
}

export function runtimeCrd() {
  return crd({
    kind: RUNTIME_KIND,
    plural: 'runtimes',
    scope: 'Cluster',
    spec: toStructural(runtimeSpecSchema, runtimeSpecOverlay),
    columns: [
      { name: 'Version', type: 'string', jsonPath: '.spec.version' },
      { name: 'Image', type: 'string', jsonPath: '.spec.image' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Aliases', type: 'string', jsonPath: '.spec.aliases', priority: 1 },
    ],
  });
}

const warmPoolSpecOverlay: SchemaOverlay = {
  '': { description: 'Pods kept ready for Executions of one runtime in this namespace.' },
  runtime: { description: 'Name or alias of a Runtime.' },
  replicas: { description: 'Ready pods to keep; kubectl scale and HPA write it.' },
  limits: {
    description:
      'The size of the pods; a limit left out takes the Runtime default. An Execution of the runtime whose limits are each at most these, and whose diskMiB is this one, is served from the pool.',
  },
};

export function warmPoolCrd() {
  return crd({
    kind: WARM_POOL_KIND,
    plural: 'warmpools',
    scope: 'Namespaced',
    shortNames: ['wp'],
    spec: toStructural(warmPoolSpecSchema, warmPoolSpecOverlay),
    status: withoutRequired(
      toStructural(warmPoolStatusSchema, { '': { description: 'Pods of the pool, counted by the operator.' } }),
    ),
    scale: true,
    columns: [
      { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime' },
      { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}

const HEADER = '# Generated by operator/crd/generate.ts from contract/crd.ts. Do not edit; run\n'.concat(
  '#   node --import=tsx operator/crd/generate.ts\n',
);

export function renderYaml(object: unknown): string {
  return HEADER + yaml.dump(object, { lineWidth: -1, noRefs: true, sortKeys: false, quotingType: '"' });
}

/** File name under manifests/crds → its content. */
export function generatedCrds(): Record<string, string> {
  return {
    'executions.sandpod.dev.yaml': renderYaml(executionCrd()),
    'runtimes.sandpod.dev.yaml': renderYaml(runtimeCrd()),
    'warmpools.sandpod.dev.yaml': renderYaml(warmPoolCrd()),
  };
}

export const CRD_DIR = fileURLToPath(new URL('../../manifests/crds/', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, content] of Object.entries(generatedCrds())) {
    writeFileSync(`${CRD_DIR}${name}`, content);
    console.error(`Wrote manifests/crds/${name}`);
  }
}
