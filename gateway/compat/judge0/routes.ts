import express, { type Request, type Response, Router } from 'express';
import type winston from 'winston';
import type { RuntimeInfo } from '../../../contract/index.js';
import { ApiError, notFound } from '../../errors.js';
import { requestLog, setTenant, tenantOf } from '../../http/request-context.js';
import { type Authenticate, bearerToken, proxyHeaderOf } from '../../tenancy/authenticate.js';
import { BATCH_BOUNDS } from '../../tenancy/batch.js';
import type { TenantConnections } from '../../tenancy/tenant-connections.js';
import type { TenantExecutions } from '../../tenancy/tenant-executions.js';
import { configInfo } from './config-info.js';
import { judge0ErrorHandler, judge0Field } from './errors.js';
import { judge0Languages, languageEntry, runtimeForLanguageId } from './languages.js';
import { JUDGE0_STATUSES } from './statuses.js';
import { translateSubmission } from './submission-request.js';
import { requestedFields, submissionView } from './submission-response.js';

export interface Judge0RoutesOptions {
  executions: TenantExecutions;
  /** A result being waited for counts as one of the tenant's streams until it is sent. */
  connections: TenantConnections;
  authenticate: Authenticate;
  log: winston.Logger;
  bodyLimitBytes: number;
  /** Longest a `?wait=true` request is held open. */
  maxWaitMs: number;
  /** The gateway's callback settings, for /config_info. */
  callbacks: { initialBackoffMs: number; attemptTimeoutMs: number };
}

const JUDGE0_VERSION = '1.13.1';
const flag = (value: unknown) => value === 'true' || value === '1';

/** Judge0 takes the token in X-Auth-Token; a bearer token works as well. */
function judge0Tenant(authenticate: Authenticate): express.RequestHandler {
  return (req, res, next) => {
    const tenant = authenticate({
      token: req.get('x-auth-token') ?? bearerToken(req.get('authorization')),
      remoteAddress: req.socket.remoteAddress,
      host: req.get('host'),
      proxyHeader: proxyHeaderOf(req.headers),
    });
    setTenant(res, tenant);
    res.locals.log = requestLog(res).child({ tenant: tenant.name });
    next();
  };
}

/** The Judge0 CE 1.13 API over the tenants, admission and backend of the REST API. */
export function judge0Routes(options: Judge0RoutesOptions): Router {
  const { executions } = options;
  const router = Router();
  router.use(judge0Tenant(options.authenticate));
  // Judge0 reads JSON whatever the content type says.
  router.use(express.json({ limit: options.bodyLimitBytes, strict: true, type: () => true }));

  router.get('/about', (_req, res) => {
    res.json({ version: JUDGE0_VERSION, homepage: null, source_code: null, maintainer: 'sandpod' });
  });
  router.get('/version', (_req, res) => {
    res.type('text/plain').send(JUDGE0_VERSION);
  });
  router.get('/config_info', (_req, res) => {
    const tenant = tenantOf(res);
    const enabled = tenant.callbackSecret !== undefined && tenant.callbackHosts.length > 0;
    res.json(configInfo(tenant.limits, { ...options.callbacks, enabled }));
  });
  router.get('/statuses', (_req, res) => {
    res.json(JUDGE0_STATUSES);
  });
  router.get('/languages', async (_req, res) => {
    res.json(judge0Languages(await executions.runtimes()));
  });
  router.get('/languages/:id', async (req, res) => {
    const runtime = runtimeForLanguageId(await executions.runtimes(), Number(req.params.id));
    const entry = runtime && languageEntry(runtime);
    if (!runtime || !entry) throw notFound('language');
    res.json({ ...entry, is_archived: false, source_file: null, compile_cmd: null, run_cmd: null });
  });

  const start = async (req: Request, res: Response, body: unknown, runtimes: RuntimeInfo[]) => {
    const { request } = translateSubmission(body, {
      base64: flag(req.query.base64_encoded),
      runtimes,
      limits: tenantOf(res).limits,
    });
    return executions.start(tenantOf(res), request, requestLog(res), { callbackFormat: 'judge0' });
  };

  router.post('/submissions/batch', async (req, res) => {
    const submissions = (req.body as { submissions?: unknown } | undefined)?.submissions;
    if (!Array.isArray(submissions) || submissions.length < 1 || submissions.length > BATCH_BOUNDS.executions) {
      throw new ApiError(
        400,
        'invalid',
        `give 1 to ${BATCH_BOUNDS.executions} submissions as {"submissions": [...]}`,
        'submissions',
      );
    }
    const runtimes = await executions.runtimes();
    const items: unknown[] = [];
    // Each is admitted on its own, so a batch may be partly refused, as in Judge0.
    for (const submission of submissions) {
      try {
        items.push({ token: (await start(req, res, submission, runtimes)).id });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        items.push(
          error.field === undefined ? { error: error.message } : { [judge0Field(error.field)]: [error.message] },
        );
      }
    }
    res.status(201).json(items);
  });

  router.get('/submissions/batch', async (req, res) => {
    const tokens = typeof req.query.tokens === 'string' ? req.query.tokens.split(',').filter(Boolean) : [];
    if (tokens.length < 1 || tokens.length > BATCH_BOUNDS.ids) {
      throw new ApiError(400, 'invalid', `give 1 to ${BATCH_BOUNDS.ids} tokens as ?tokens=a,b`, 'tokens');
    }
    const fields = requestedFields(req.query.fields);
    const base64 = flag(req.query.base64_encoded);
    const submissions = await Promise.all(
      tokens.map(async (token) => {
        try {
          return submissionView(await executions.get(tenantOf(res), token), fields, base64);
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) return null;
          throw error;
        }
      }),
    );
    res.json({ submissions });
  });

  router.post('/submissions', async (req, res) => {
    if (flag(req.query.wait)) res.once('close', options.connections.openStream(tenantOf(res)));
    const { id } = await start(req, res, req.body, await executions.runtimes());
    if (!flag(req.query.wait)) {
      res.status(201).json({ token: id });
      return;
    }
    const deadline = AbortSignal.timeout(options.maxWaitMs);
    const result = (await executions.wait(tenantOf(res), id, deadline)) ?? (await executions.get(tenantOf(res), id));
    // Judge0 answers 201 either way; a result still In Queue or Processing tells the client to poll.
    res.status(201).json(submissionView(result, requestedFields(req.query.fields), flag(req.query.base64_encoded)));
  });

  router.get('/submissions/:token', async (req, res) => {
    const result = await executions.get(tenantOf(res), String(req.params.token));
    res.json(submissionView(result, requestedFields(req.query.fields), flag(req.query.base64_encoded)));
  });

  router.use(() => {
    throw notFound('route');
  });
  router.use(judge0ErrorHandler(options.log));
  return router;
}
