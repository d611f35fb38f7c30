import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { executionSpecSchema, runtimeSpecSchema } from '../../contract/crd.js';
import { type Execution, findRuntime, type Runtime } from '../../contract/objects.js';
import { planExecution } from '../../operator/plan.js';
import { desiredPod } from '../../operator/pod.js';
import { readCatalog } from '../../runtimes/catalog.js';
import { policy } from './fixtures.js';

const dir = new URL('../../manifests/', import.meta.url);
const load = (sub: string) =>
  readdirSync(new URL(sub, dir))
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => ({
      name,
      object: yaml.load(readFileSync(new URL(`${sub}${name}`, dir), 'utf8')) as Record<string, unknown>,
    }));

const runtimes = load('runtimes/');
const samples = load('samples/');

describe('manifests', () => {
  it('should ship a default Runtime for every language of the catalog', () => {
    assert.deepEqual(
      runtimes.map((r) => r.name).sort(),
      readCatalog()
        .runtimes.map((runtime) => `${runtime.name}.yaml`)
        .sort(),
    );
  });

  for (const { name, object } of runtimes) {
    it(`should give runtimes/${name} a spec the Runtime schema accepts and a fixed local image`, () => {
      assert.equal(object.apiVersion, 'sandpod.dev/v1alpha1');
      assert.equal(object.kind, 'Runtime');
      const parsed = runtimeSpecSchema.safeParse(object.spec);
      assert.ok(parsed.success, parsed.error?.message);
      assert.match(parsed.data.image, /^sandpod\.local\/runtime-[a-z][a-z-]*:dev$/);
    });
  }

  for (const { name, object } of samples) {
    it(`should make samples/${name} a valid Execution whose pod can be built`, () => {
      assert.equal(object.kind, 'Execution');
      const parsed = executionSpecSchema.safeParse(object.spec);
      assert.ok(parsed.success, parsed.error?.message);
      const runtime = findRuntime(
        runtimes.map((r) => r.object as unknown as Runtime),
        parsed.data.runtime,
      );
      assert.ok(runtime, `no Runtime for ${parsed.data.runtime}`);
      const execution = {
        ...(object as unknown as Execution),
        metadata: { ...(object.metadata as object), namespace: 'default', uid: 'u' },
      } as Execution;
      const plan = planExecution(execution, runtime, policy());
      assert.ok(plan.ok, plan.ok ? '' : plan.message);
      assert.ok(desiredPod(execution, runtime, plan.plan, policy().pod).spec?.containers.length);
    });
  }

  it('should include a sample that reads stdin', () => {
    assert.ok(samples.some(({ object }) => typeof (object.spec as { stdin?: unknown }).stdin === 'string'));
  });
});
