import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { z } from 'zod';
import {
  DEFAULT_COMPILE_LIMITS,
  DEFAULT_LIMIT_POLICY,
  firstFieldError,
  limitPolicySchema,
  limitsSchema,
} from '../contract/index.js';

// Every knob of the gateway has its home here: defaults in the schema, overrides from a YAML
// file named by SANDPOD_CONFIG and from the few environment variables the contract names.

const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/dist\/$/, '/');

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label');

const tenantSchema = z.strictObject({
  name: dnsLabel,
  /** SHA-256 (hex) of each token; plain tokens never sit in configuration. */
  tokenSha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1),
  limits: limitPolicySchema.optional(),
  /** Executions running or queued at once for this tenant (429 past it). */
  maxConcurrent: z.int().positive().optional(),
  /** Requests per second with a burst, for starting executions (429 past it). */
  ratePerSecond: z.number().positive().optional(),
  burst: z.int().positive().optional(),
  /** Sockets open at once for this tenant (the handshake is refused past it). */
  maxSockets: z.int().positive().optional(),
  /**
   * Results and output streams the gateway sends this tenant at once: executions followed by its
   * sockets, and REST answers that carry a result (429 past it).
   */
  maxStreams: z.int().positive().optional(),
  /**
   * Kubernetes mode: the namespace of the tenant's Executions. Without it,
   * `kubernetes.namespaces[name]`, else `<kubernetes.namespacePrefix><name>`.
   */
  namespace: dnsLabel.optional(),
  /** Hosts (a name, or name:port) that this tenant's callbackUrls may point at; none by default. */
  callbackHosts: z.array(z.string().min(1).max(260)).max(64).optional(),
  /** The key of the HMAC-SHA256 signature of every callback (X-Sandpod-Signature). */
  callbackSecret: z.string().min(16).max(1024).optional(),
});
export type TenantConfig = z.infer<typeof tenantSchema>;

/**
 * The tenants of the configuration file, and of the Kubernetes Secret that may replace it. A name
 * or a token given twice would make a token's tenant depend on the order, so both must be unique.
 */
export const tenantListSchema = z.array(tenantSchema).superRefine((tenants, context) => {
  const names = new Set<string>();
  const tokens = new Set<string>();
  tenants.forEach((tenant, index) => {
    if (names.has(tenant.name)) {
      context.addIssue({ code: 'custom', path: [index, 'name'], message: `tenant ${tenant.name} is given twice` });
    }
    names.add(tenant.name);
    tenant.tokenSha256.forEach((hash, hashIndex) => {
      if (tokens.has(hash)) {
        context.addIssue({
          code: 'custom',
          path: [index, 'tokenSha256', hashIndex],
          message: 'this token hash is given twice; a token belongs to one tenant',
        });
      }
      tokens.add(hash);
    });
  });
});

/** Where the gateway reads its tenants from in Kubernetes mode, instead of `tenants`. */
const tenantsSecretSchema = z.strictObject({
  namespace: dnsLabel,
  name: z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS subdomain'),
  /** The key of the Secret's data that holds the tenants, as a YAML list like `tenants`. */
  key: z
    .string()
    .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret data key')
    .default('tenants.yaml'),
});
export type TenantsSecretRef = z.infer<typeof tenantsSecretSchema>;

/**
 * Why a tenant may not have this namespace, or undefined when it may. Kubernetes' own namespaces
 * and the one sandpod runs in hold Secrets, service accounts and controllers: a tenant there
 * would have the gateway create Executions, and the operator pods, beside them.
 */
export function reservedNamespaceReason(namespace: string, releaseNamespace?: string): string | undefined {
  if (namespace === 'default' || namespace.startsWith('kube-')) {
    return `namespace ${namespace} belongs to Kubernetes itself; give the tenant a namespace of its own`;
  }
  if (releaseNamespace !== undefined && namespace === releaseNamespace) {
    return `namespace ${namespace} is where sandpod itself runs; give the tenant a namespace of its own`;
  }
  return undefined;
}

/** Adds an issue for each tenant whose namespace is reserved (see reservedNamespaceReason). */
export function refuseReservedNamespaces(
  tenants: readonly TenantConfig[],
  settings: { namespacePrefix: string; namespaces: Record<string, string>; releaseNamespace?: string | undefined },
  context: z.RefinementCtx,
  pathOf: (index: number, field: 'name' | 'namespace') => PropertyKey[],
): void {
  tenants.forEach((tenant, index) => {
    const own = tenant.namespace ?? settings.namespaces[tenant.name];
    const namespace = own ?? `${settings.namespacePrefix}${tenant.name}`;
    const message = reservedNamespaceReason(namespace, settings.releaseNamespace);
    const field = tenant.namespace !== undefined ? 'namespace' : 'name';
    if (message) context.addIssue({ code: 'custom', path: pathOf(index, field), message });
  });
}

const configFields = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.int().min(0).max(65535).default(8080),
  backend: z.enum(['embedded', 'kubernetes']).default('embedded'),
  logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  limits: limitPolicySchema.default(DEFAULT_LIMIT_POLICY),
  compileLimits: limitsSchema.default(DEFAULT_COMPILE_LIMITS),
  /** Tenants with tokens. Without any, only loopback clients are served, as tenant `default`. */
  tenants: tenantListSchema.default([]),
  tenantDefaults: z
    .strictObject({
      maxConcurrent: z.int().positive().default(16),
      ratePerSecond: z.number().positive().default(20),
      burst: z.int().positive().default(40),
      maxSockets: z.int().positive().default(32),
      maxStreams: z.int().positive().default(64),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** Largest JSON body; a request above it gets 413. */
      bodyLimitBytes: z
        .int()
        .positive()
        .default(2 * 1024 * 1024),
      /** How long `?wait=true` may hold a request open. */
      maxWaitMs: z.int().positive().default(300_000),
      /** How long DELETE waits for a cancelled execution to end before answering 202. */
      cancelWaitMs: z.int().positive().default(5_000),
    })
    .prefault({}),
  callbacks: z
    .strictObject({
      /** Wait before the second attempt; each further one waits twice as long, at most a minute. */
      initialBackoffMs: z.int().positive().default(1000),
      /** How long one attempt may wait for the receiver's answer. */
      attemptTimeoutMs: z.int().positive().default(10_000),
      /** How often deliveries left due (by a gateway that stopped) are looked for. */
      rescanMs: z.int().positive().default(30_000),
    })
    .prefault({}),
  socket: z
    .strictObject({
      /** A socket that starts or attaches to nothing for this long is closed. */
      idleTimeoutMs: z.int().positive().default(60_000),
      /** Executions one socket may follow at once. */
      maxFollowed: z.int().positive().default(8),
      /**
       * Bytes a socket may have waiting for a slow reader (as encoded, so escaped control
       * characters count six-fold) before following pauses; the output stays in the backend.
       */
      highWaterBytes: z
        .int()
        .positive()
        .default(1024 * 1024),
      /** Largest single Socket.IO message. */
      maxMessageBytes: z
        .int()
        .positive()
        .default(2 * 1024 * 1024),
      /** Bytes of stdin one execution may receive over its life. */
      maxStdinBytes: z
        .int()
        .positive()
        .default(4 * 1024 * 1024),
      /** Interactive executions a socket started are cancelled this long after it disconnects. */
      disconnectGraceMs: z.int().min(0).default(10_000),
    })
    .prefault({}),
  embedded: z
    .strictObject({
      /**
       * Executions running at once; the rest wait in a bounded queue. Twice the cores: a good
       * part of a short run is the runtime setting up, which waits on the kernel, not a CPU.
       */
      maxRunning: z
        .int()
        .positive()
        .default(2 * availableParallelism()),
      maxQueued: z.int().min(0).default(64),
      /** How long finished results stay readable. */
      resultTtlSeconds: z.int().positive().default(3600),
      maxResults: z.int().positive().default(10_000),
      /**
       * Bytes that finished results may hold in memory together (output, compiler output, the
       * rest of the result; the request is dropped when an execution ends); the oldest go first.
       */
      maxRetainedBytes: z
        .int()
        .positive()
        .default(256 * 1024 * 1024),
      /** OCI runtime: runc by default, runsc (gVisor) for the strong boundary. */
      ociRuntime: z.enum(['runc', 'runsc']).default('runc'),
      /** Path of the runtime binary; looked up on PATH when empty. */
      ociRuntimePath: z.string().default(''),
      /** Where bundles and scratch mounts live while an execution runs. */
      stateDir: z.string().default('/run/sandpod'),
      catalogPath: z.string().default(`${repoRoot}runtimes/catalog.yaml`),
      seccompProfilePath: z.string().default(`${repoRoot}config/seccomp.json`),
      /** The small helper that starts the runtime's processes (built by `make build`). */
      spawnerPath: z.string().default(`${repoRoot}dist/bin/sandpod-spawner`),
      /**
       * Host users for programs: each running execution gets one of its own, `firstUid` up to
       * `firstUid + maxRunning - 1`, so that what the kernel counts per user (inotify instances,
       * message queue bytes) is never shared between executions. Pick a range no user or
       * subordinate-uid range (/etc/subuid) of the host uses.
       */
      firstUid: z.int().min(1000).max(4_000_000_000).default(1_900_000_000),
      /** The group of every program. */
      gid: z.int().min(1).default(65534),
      /** CPU cores one execution may use at once. */
      cpus: z.number().positive().default(1),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      /** Namespace of tenants without a namespace of their own: `<prefix><tenant>`. */
      namespacePrefix: z.string().default('sandpod-'),
      /**
       * Namespaces of tenants that have one of their own, by tenant name. Tenants sharing a
       * namespace are kept apart by the tenant label the gateway puts on each Execution.
       */
      namespaces: z.record(z.string(), dnsLabel).default({}),
      /**
       * A Secret holding the tenants (see README, Kubernetes mode), watched so that changes apply
       * without a restart. When set, `tenants` must be empty.
       */
      tenantsSecret: tenantsSecretSchema.optional(),
      /**
       * Which namespaces the gateway watches for Executions: those of the configured tenants (a
       * Role in each is enough), or all of them (a ClusterRole; for tenants added at runtime).
       */
      watch: z.enum(['tenants', 'all']).default('tenants'),
      /**
       * The namespace the gateway and operator run in (the chart sets it): no tenant may have it,
       * nor `default` or a `kube-*` namespace. Without it, the tenants Secret's namespace.
       */
      releaseNamespace: dnsLabel.optional(),
      /** Seconds a finished Execution stays readable before the operator deletes it. */
      ttlSecondsAfterFinished: z.int().min(0).default(3600),
      /**
       * What one tenant may keep stored in the API server (etcd) through its Executions, finished
       * ones included until their TTL deletes them: a new one past either cap gets 429 with a
       * Retry-After of when the first of them is due to go. Counted from the watch, so every
       * replica agrees. An Execution weighs its JSON: source, files, stdin and output.
       */
      storage: z
        .strictObject({
          maxExecutionsPerTenant: z.int().positive().default(500),
          maxBytesPerTenant: z
            .int()
            .positive()
            .default(32 * 1024 * 1024),
          /**
           * An Execution whose request is larger than this is deleted largeTtlSecondsAfterFinished
           * after it finishes instead of ttlSecondsAfterFinished, whichever is shorter.
           */
          largeExecutionBytes: z
            .int()
            .positive()
            .default(64 * 1024),
          largeTtlSecondsAfterFinished: z.int().min(0).default(300),
        })
        .prefault({}),
      /**
       * Output of finished Executions kept in memory (each replica), so that reading a result
       * again is no API request: the watch keeps Executions without their output.
       */
      finishedResultCacheBytes: z
        .int()
        .min(0)
        .default(32 * 1024 * 1024),
      /**
       * Read stdout and stderr of a pod's log apart (`stream=Stdout|Stderr`, feature gate
       * PodLogsQuerySplitStreams). Where the API server refuses it, both are followed as stdout,
       * as the operator then records them.
       */
      splitStreams: z.boolean().default(true),
      /** How long the readiness probe waits for the API server. */
      probeTimeoutMs: z.int().positive().default(2_000),
      /** First and longest wait before a lost watch is started again. */
      rewatchBaseDelayMs: z.int().positive().default(1_000),
      rewatchMaxDelayMs: z.int().positive().default(30_000),
      /**
       * Longest wait before trying again to open a log or attach that the kubelet refused while the pod
       * starts; a log is tried again after 100, 200 and 400 ms first.
       */
      podRetryDelayMs: z.int().positive().default(500),
      /**
       * Bytes of an interactive execution's live output this replica keeps for its followers
       * (gateway/kubernetes/output-window.ts); a follower further behind reads on from the log.
       */
      liveWindowBytes: z
        .int()
        .positive()
        .default(1024 * 1024),
    })
    .prefault({}),
  shutdownGraceMs: z.int().min(0).default(30_000),
});

export const configSchema = configFields.superRefine((config, context) => {
  const { kubernetes } = config;
  const releaseNamespace = kubernetes.releaseNamespace ?? kubernetes.tenantsSecret?.namespace;
  for (const [tenant, namespace] of Object.entries(kubernetes.namespaces)) {
    const message = reservedNamespaceReason(namespace, releaseNamespace);
    if (message) context.addIssue({ code: 'custom', path: ['kubernetes', 'namespaces', tenant], message });
  }
  refuseReservedNamespaces(config.tenants, { ...kubernetes, releaseNamespace }, context, (index, field) => [
    'tenants',
    index,
    field,
  ]);
  // Without the Kubernetes backend nobody reads the Secret, and no tenants would mean open loopback.
  if (config.kubernetes.tenantsSecret && config.backend !== 'kubernetes') {
    context.addIssue({
      code: 'custom',
      path: ['kubernetes', 'tenantsSecret'],
      message: 'a tenants Secret needs backend: kubernetes',
    });
  }
  // Two sources of tenants would leave open which one a token or a name belongs to.
  if (config.kubernetes.tenantsSecret && config.tenants.length > 0) {
    context.addIssue({
      code: 'custom',
      path: ['tenants'],
      message: 'tenants come from kubernetes.tenantsSecret; leave tenants empty',
    });
  }
});
export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the YAML file (if any) and the environment; throws a ConfigError naming the bad field. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = env.SANDPOD_CONFIG ? yaml.load(readFileSync(env.SANDPOD_CONFIG, 'utf8')) : {};
  if (fromFile !== undefined && (fromFile === null || typeof fromFile !== 'object')) {
    throw new ConfigError(`${env.SANDPOD_CONFIG}: expected a mapping`);
  }
  const merged: Record<string, unknown> = { ...(fromFile as object) };
  if (env.HOST) merged.host = env.HOST;
  if (env.PORT) merged.port = Number(env.PORT);
  if (env.SANDPOD_BACKEND) merged.backend = env.SANDPOD_BACKEND;
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL;
  if (env.SANDPOD_OCI_RUNTIME) {
    merged.embedded = { ...(merged.embedded as object | undefined), ociRuntime: env.SANDPOD_OCI_RUNTIME };
  }
  if (env.SANDPOD_OCI_RUNTIME_PATH) {
    merged.embedded = { ...(merged.embedded as object | undefined), ociRuntimePath: env.SANDPOD_OCI_RUNTIME_PATH };
  }
  return parseConfig(merged);
}

export function parseConfig(input: unknown): Config {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const { field, message } = firstFieldError(parsed.error);
    throw new ConfigError(`invalid configuration at ${field || '(root)'}: ${message}`);
  }
  return parsed.data;
}
