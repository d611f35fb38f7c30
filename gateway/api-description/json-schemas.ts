import { z } from 'zod';

// Turns named zod schemas into OpenAPI 3.1 component schemas (JSON Schema 2020-12): a schema
// named here becomes a `$ref` wherever another one uses it, anything else is inlined.

export type NamedSchemas = Record<string, z.ZodType>;
export type JsonSchema = Record<string, unknown>;

/**
 * `io: 'input'` describes what the gateway accepts (defaults may be left out), `'output'` what
 * it answers. Refinements (byte lengths, "exactly one of") do not translate; the messages of the
 * 400 they cause name the field.
 */
export function componentSchemas(schemas: NamedSchemas, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const components: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    // Each would otherwise claim to be a document of its own.
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
    components[id] = rest;
  }
  return components;
}
