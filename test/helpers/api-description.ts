import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

// Checks the gateway's answers against its own OpenAPI document (GET /api/v1/openapi.json):
// every answer's status must be described for its operation, and a JSON body must match the
// schema described for that status.

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type PathItem = Record<string, unknown> & { servers?: { url: string }[] };
export interface Described {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, unknown> };
}

const DOCUMENT_ID = 'https://sandpod.invalid/openapi.json';

interface Route {
  template: string;
  pattern: RegExp;
  item: PathItem;
}

export class ApiDescription {
  readonly #ajv: Ajv2020;
  readonly #routes: Route[];
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(readonly document: Described) {
    // strict off: the document's schemas sit under `components`, which is no JSON Schema keyword;
    // formats are not checked (the schemas carry patterns where a format matters).
    this.#ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    this.#ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
    const base = document.servers[0]?.url ?? '';
    this.#routes = Object.entries(document.paths).map(([template, item]) => {
      const prefix = item.servers?.[0]?.url === '/' ? '' : base;
      const source = `${prefix}${template}`.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+');
      return { template, item, pattern: new RegExp(`^${source}$`) };
    });
  }

  static async fetch(gatewayUrl: string): Promise<ApiDescription> {
    const response = await fetch(`${gatewayUrl}/api/v1/openapi.json`);
    if (!response.ok) throw new Error(`GET /api/v1/openapi.json answered ${response.status}`);
    return new ApiDescription((await response.json()) as Described);
  }

  /** Throws, naming the operation and what differs, when an answer is not as described. */
  check(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
    const pathname = new URL(url).pathname;
    const route = this.#routes.find((candidate) => candidate.pattern.test(pathname));
    const where = `${method} ${pathname} → ${status}`;
    if (!route) {
      // A path the API does not have answers the described error body.
      if (status !== 404) throw new Error(`${where}: no path of the API description matches`);
      const validate = this.component('Error');
      if (!validate(body)) throw new Error(`${where}: not the described error: ${explain(validate)}`);
      return;
    }
    const operation = route.item[method.toLowerCase()] as Operation | undefined;
    if (!operation) throw new Error(`${where}: ${method} is not described for ${route.template}`);
    const response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response) throw new Error(`${where}: status ${status} is not described`);
    if (!contentType?.startsWith('application/json')) return;
    const media = response.content?.['application/json'];
    if (!media?.schema) throw new Error(`${where}: a JSON body is not described`);
    const validate = this.#validatorFor(`${route.template} ${method} ${status}`, media.schema);
    if (!validate(body)) {
      throw new Error(`${where}: the body is not as described: ${explain(validate)}`);
    }
  }

  /** A validator of one named component schema, for payloads outside REST (Socket.IO). */
  component(name: string): ValidateFunction {
    const validate = this.#ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`);
    if (!validate) throw new Error(`no component schema ${name}`);
    return validate;
  }

  #validatorFor(key: string, schema: unknown): ValidateFunction {
    let validate = this.#validators.get(key);
    if (!validate) {
      validate = this.#ajv.compile({ $id: `${DOCUMENT_ID}/${this.#validators.size}`, ...rebase(schema) });
      this.#validators.set(key, validate);
    }
    return validate;
  }
}

/** Each problem with where it is and what it names (the extra property, the pattern). */
function explain(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`)
    .join('; ');
}

/** The document's `#/components/...` refs, pointed at the document from a schema of its own. */
function rebase(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as Record<
    string,
    unknown
  >;
}
