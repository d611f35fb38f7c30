import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';
import { CRD_DIR, executionCrd, generatedCrds, runtimeCrd } from '../../operator/crd/generate.js';
import { type StructuralSchema, toStructural, walkSchema } from '../../operator/crd/structural.js';

type Crd = ReturnType<typeof executionCrd>;

const openApi = (crd: Crd) => crd.spec.versions[0]?.schema.openAPIV3Schema as StructuralSchema;
const child = (schema: StructuralSchema, path: string) =>
  path.split('.').reduce<StructuralSchema | undefined>((node, name) => node?.properties?.[name], schema);

describe('CRD generation', () => {
  for (const [name, content] of Object.entries(generatedCrds())) {
    it(`should match the committed manifests/crds/${name} when regenerated`, () => {
      const committed = readFileSync(`${CRD_DIR}${name}`, 'utf8');
      assert.equal(
        committed,
        content,
        `manifests/crds/${name} is stale: run node --import=tsx operator/crd/generate.ts`,
      );
    });
  }

  it('should produce YAML that parses back to the same object', () => {
    const parsed = yaml.load(generatedCrds()['executions.sandpod.dev.yaml'] ?? '');
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(executionCrd())));
  });

  it('should name the Execution kind, short name, category and status subresource as the contract says', () => {
    const crd = executionCrd();
    assert.equal(crd.metadata.name, 'executions.sandpod.dev');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.shortNames, ['ex']);
    assert.deepEqual(crd.spec.names.categories, ['sandpod']);
    assert.deepEqual(crd.spec.versions[0]?.subresources, { status: {} });
    assert.equal(crd.spec.versions[0]?.name, 'v1alpha1');
  });

  it('should print RUNTIME, PHASE, REASON, EXIT, DURATION, TESTS and AGE by default', () => {
    const columns = executionCrd().spec.versions[0]?.additionalPrinterColumns ?? [];
    const shown = columns.filter((column) => !column.priority).map((column) => column.name.toUpperCase());
    assert.deepEqual(shown, ['RUNTIME', 'PHASE', 'REASON', 'EXIT', 'DURATION', 'TESTS', 'AGE']);
  });

  it('should make Runtime cluster-scoped without a status', () => {
    const crd = runtimeCrd();
    assert.equal(crd.spec.scope, 'Cluster');
    assert.equal(crd.spec.versions[0]?.subresources, undefined);
    assert.deepEqual(openApi(crd).properties?.spec?.required, ['image', 'fileName', 'run', 'version']);
  });

  for (const [kind, crd] of [
    ['Execution', executionCrd()],
    ['Runtime', runtimeCrd()],
  ] as const) {
    it(`should bound every string and list of the ${kind} spec so CEL cost is bounded`, () => {
      walkSchema(openApi(crd).properties?.spec as StructuralSchema, (node, path) => {
        if (node.type === 'string' && node.enum === undefined) assert.ok(node.maxLength, `${path} has no maxLength`);
        if (node.type === 'array') assert.ok(node.maxItems, `${path} has no maxItems`);
      });
    });

    it(`should keep the ${kind} schema structural (types everywhere, no additionalProperties, no $schema)`, () => {
      walkSchema(openApi(crd), (node, path) => {
        assert.ok(node.type, `${path} has no type`);
        assert.ok(!('additionalProperties' in node), `${path} has additionalProperties`);
        assert.ok(!('$schema' in node), `${path} has $schema`);
      });
    });
  }

  it('should guard file names with the contract pattern and make files a map keyed by name', () => {
    const files = child(openApi(executionCrd()), 'spec.files') as StructuralSchema;
    assert.equal(files.items?.properties?.name?.pattern, '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$');
    assert.equal(files['x-kubernetes-list-type'], 'map');
    assert.deepEqual(files['x-kubernetes-list-map-keys'], ['name']);
  });

  it('should require exactly one of source or files and forbid undoing cancel', () => {
    const rules = (child(openApi(executionCrd()), 'spec')?.['x-kubernetes-validations'] ?? []).map((r) => r.rule);
    assert.ok(rules.includes('has(self.source) != has(self.files)'));
    assert.ok(rules.some((rule) => rule.includes('oldSelf.cancel')));
  });

  it('should turn exclusive integer minimums into inclusive ones', () => {
    const memory = child(openApi(executionCrd()), 'spec.limits.memoryMiB');
    assert.deepEqual(memory, { type: 'integer', minimum: 1, maximum: 65536, format: 'int64' });
  });

  it('should leave status fields optional but describe nullable outcome fields', () => {
    const status = child(openApi(executionCrd()), 'status') as StructuralSchema;
    assert.equal(status.required, undefined);
    assert.equal(status.properties?.exitCode?.nullable, true);
    assert.deepEqual(status.properties?.reason?.enum?.slice(0, 2), ['Completed', 'NonZeroExit']);
  });

  describe('toStructural', () => {
    it('should refuse a zod construct with no CRD equivalent when given one', () => {
      assert.throws(() => toStructural(z.object({ a: z.union([z.string(), z.int()]) })), /anyOf|type/);
    });

    it('should refuse an overlay path that does not exist when the contract renamed a field', () => {
      assert.throws(() => toStructural(z.object({ a: z.string() }), { b: { maxLength: 1 } }), /b/);
    });
  });
});
