import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runtimeSpecSchema } from '../contract/crd.js';
import { configSchema } from '../gateway/config.js';
import { operatorConfigSchema } from '../operator/config.js';
import { chartDir } from './render.js';

// values.schema.json is written by hand except for `gateway.config` and `operator.config`, which
// are the JSON Schema of the zod schemas the gateway and operator parse their files with, and the
// entries of `runtimes.list`, which are the Runtime spec's (contract/crd.ts) with a name, so a
// misspelt setting fails `helm install` instead of the pod's start. Run after changing either
// configuration schema (make manifests does):
//   node --import=tsx charts/values-schema.ts
// test/charts/chart.test.ts fails while the committed file holds other schemas.

export const VALUES_SCHEMA_PATH = `${chartDir}/values.schema.json`;

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema> };

const checkout = fileURLToPath(new URL('..', import.meta.url));

/**
 * Defaults that name a file of this checkout (the catalog, the seccomp profile) say where the
 * program finds them when run from a clone; they mean nothing in an image, and would make the
 * committed schema depend on the folder it was generated in.
 */
function withoutCheckoutPaths(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutCheckoutPaths);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'default' && typeof value === 'string' && value.startsWith(checkout)))
      .map(([key, value]) => [key, withoutCheckoutPaths(value)]),
  );
}

function configJsonSchema(schema: z.ZodType, description: string): JsonSchema {
  // Input side: every key may be left out (the program fills defaults); strict objects stay strict.
  const { $schema: _, ...generated } = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' }) as JsonSchema;
  return { ...(withoutCheckoutPaths(generated) as JsonSchema), description };
}

/** An entry of runtimes.list: a Runtime's name and spec, its image optional (the chart names it). */
const chartRuntimeSchema = runtimeSpecSchema.extend({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
    .describe("a DNS label: lower-case letters, digits and '-', at most 63"),
  image: runtimeSpecSchema.shape.image
    .optional()
    .describe('full image reference; default <images.registry>/runtime-<name>:<tag>'),
});

/** The committed schema with both configuration schemas and the Runtime entries put in from the code. */
export function valuesSchema(committed: JsonSchema = JSON.parse(readFileSync(VALUES_SCHEMA_PATH, 'utf8'))): JsonSchema {
  const properties = committed.properties ?? {};
  const withConfig = (name: string, config: JsonSchema) => {
    const component = properties[name];
    if (!component?.properties) throw new Error(`values.schema.json has no ${name}.properties`);
    return { ...component, properties: { ...component.properties, config } };
  };
  const runtimes = properties.runtimes;
  const list = runtimes?.properties?.list;
  if (!runtimes?.properties || !list) throw new Error('values.schema.json has no runtimes.properties.list');
  return {
    ...committed,
    properties: {
      ...properties,
      runtimes: {
        ...runtimes,
        properties: {
          ...runtimes.properties,
          list: {
            ...list,
            items: configJsonSchema(chartRuntimeSchema, 'a Runtime spec (contract/crd.ts) and its name'),
            description: 'the Runtimes; empty: those of runtimes/catalog.yaml (files/runtimes.yaml)',
          },
        },
      },
      operator: withConfig(
        'operator',
        configJsonSchema(operatorConfigSchema, 'operator/config.ts keys, merged over what the chart sets'),
      ),
      gateway: withConfig(
        'gateway',
        configJsonSchema(configSchema, 'gateway/config.ts keys, merged over what the chart sets'),
      ),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(VALUES_SCHEMA_PATH, `${JSON.stringify(valuesSchema(), null, 2)}\n`);
  console.error('Wrote charts/sandpod/values.schema.json');
}
