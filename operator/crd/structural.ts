import { z } from 'zod';

// Turns a zod schema into a Kubernetes structural schema (apiextensions.k8s.io/v1 JSONSchemaProps).
// zod's OpenAPI 3.0 output is close; what differs is fixed here, and anything this file does not
// know is refused, so a new kind of zod schema in the contract cannot slip into a CRD unchecked.

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  items?: StructuralSchema;
  nullable?: boolean;
  enum?: (string | number | boolean | null)[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export interface ValidationRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Additions to the generated schema at a property path such as `files.items.content`. */
export type SchemaOverlay = Record<string, Partial<StructuralSchema>>;

const COPIED_KEYS = [
  'type',
  'description',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'nullable',
] as const;

type JsonSchema = Record<string, unknown>;

export function toStructural(schema: z.ZodType, overlay: SchemaOverlay = {}): StructuralSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'throw' });
  const unused = new Set(Object.keys(overlay));
  const structural = convert(json as JsonSchema, [], overlay, unused);
  if (unused.size > 0) throw new Error(`schema overlay names paths that do not exist: ${[...unused].join(', ')}`);
  return structural;
}

function convert(json: JsonSchema, path: string[], overlay: SchemaOverlay, unused: Set<string>): StructuralSchema {
  const where = path.join('.') || '(root)';
  const out: StructuralSchema = {};
  for (const [key, value] of Object.entries(json)) {
    if ((COPIED_KEYS as readonly string[]).includes(key)) {
      (out as Record<string, unknown>)[key] = value;
    } else if (key === '$schema' || key === 'additionalProperties') {
      // Structural schemas forbid additionalProperties beside properties; unknown fields are pruned.
      if (key === 'additionalProperties' && value !== false) throw new Error(`${where}: maps are not supported`);
    } else if (
      !['properties', 'items', 'required', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].includes(key)
    ) {
      throw new Error(`${where}: cannot express JSON Schema keyword ${key} in a CRD`);
    }
  }
  if (json.type === 'integer' || json.type === 'number') Object.assign(out, numericBounds(json));
  // The API server checks a null against the enum and refuses it; such fields are left out instead.
  if (out.nullable && out.enum) delete out.nullable;
  // Kubernetes checks the format itself; zod's long RFC 3339 pattern would only cost CEL budget.
  if (json.format === 'date-time') delete out.pattern;
  if (json.properties) {
    out.properties = {};
    for (const [name, child] of Object.entries(json.properties as Record<string, JsonSchema>)) {
      out.properties[name] = convert(child, [...path, name], overlay, unused);
    }
  }
  if (Array.isArray(json.required) && json.required.length > 0) out.required = [...(json.required as string[])];
  if (json.items) {
    if (Array.isArray(json.items)) throw new Error(`${where}: tuples are not supported`);
    out.items = convert(json.items as JsonSchema, [...path, 'items'], overlay, unused);
  }
  if (!out.type) throw new Error(`${where}: every node of a structural schema needs a type`);
  const extra = overlay[path.join('.')];
  if (extra) {
    unused.delete(path.join('.'));
    Object.assign(out, extra);
  }
  return out;
}

function numericBounds(json: JsonSchema): Partial<StructuralSchema> {
  const bounds: Partial<StructuralSchema> = {};
  let minimum = json.minimum as number | undefined;
  let maximum = json.maximum as number | undefined;
  const integer = json.type === 'integer';
  if (json.exclusiveMinimum === true && minimum !== undefined) {
    if (!integer) throw new Error('exclusive bounds of non-integers are not supported');
    minimum += 1;
  }
  if (json.exclusiveMaximum === true && maximum !== undefined) {
    if (!integer) throw new Error('exclusive bounds of non-integers are not supported');
    maximum -= 1;
  }
  // zod bounds every int by the safe-integer range; that is no rule worth printing.
  if (minimum !== undefined && minimum > Number.MIN_SAFE_INTEGER) bounds.minimum = minimum;
  if (maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER) bounds.maximum = maximum;
  if (integer) bounds.format = 'int64';
  return bounds;
}

/** Visits every node with its property path, for checks such as "every string is bounded". */
export function walkSchema(schema: StructuralSchema, visit: (node: StructuralSchema, path: string) => void, path = '') {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    walkSchema(child, visit, path ? `${path}.${name}` : name);
  }
  if (schema.items) walkSchema(schema.items, visit, path ? `${path}.items` : 'items');
}
