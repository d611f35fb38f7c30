import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  repoPath,
  skipOrFail,
} from '../../helpers/cluster-suite.js';

// Needs a control plane only: manifests/rbac/gateway.yaml applied to the dev cluster's API server,
// and the gateway's service account asked, through impersonation, what it may and may not do.

const problem = clusterProblem();
const title = problem
  ? `gateway RBAC — SKIPPED, NO CLUSTER: ${problem}`
  : 'gateway RBAC on the dev cluster API server (needs the dev cluster API server)';

const gateway = 'system:serviceaccount:sandpod-system:sandpod-gateway';
const tenantNamespace = `sandpod-rbac-${process.pid}-${Date.now().toString(36)}`;
/** The manifest binds the example tenant `sandpod-default`; this run binds a namespace of its own. */
const manifest = () =>
  readFileSync(repoPath('manifests/rbac/gateway.yaml'), 'utf8').replaceAll(
    'namespace: sandpod-default',
    `namespace: ${tenantNamespace}`,
  );

/** `resource` may name a subresource as `pods/log`. */
function canI(verb: string, resource: string, namespace?: string): boolean {
  const [kind, subresource] = resource.split('/') as [string, string | undefined];
  const args = ['auth', 'can-i', verb, kind, `--as=${gateway}`];
  if (subresource) args.push(`--subresource=${subresource}`);
  if (namespace) args.push('-n', namespace);
  // The answer is a line of its own; kubectl may add a warning beside it.
  return kubectl(args)
    .out.split('\n')
    .some((line) => line.trim() === 'yes');
}

/** `kubectl auth can-i` for one named object. */
function canINamed(verb: string, resource: string, name: string, namespace: string): boolean {
  return kubectl(['auth', 'can-i', verb, `${resource}/${name}`, `--as=${gateway}`, '-n', namespace])
    .out.split('\n')
    .some((line) => line.trim() === 'yes');
}

/** A GET of an API path as the gateway; `ok` when the API server authorized and served it. */
function getAsGateway(path: string): { ok: boolean; out: string } {
  return kubectl(['get', '--raw', path, `--as=${gateway}`]);
}

const tenantsSecret = 'sandpod-tenants';
const secretsPath = '/api/v1/namespaces/sandpod-system/secrets';
const byName = (name: string) => `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;

describe(title, function () {
  this.timeout(120_000);
  let createdSystemNamespace = false;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    if (!kubectl(['get', 'namespace', 'sandpod-system']).ok) {
      createNamespace('sandpod-system');
      createdSystemNamespace = true;
    }
    createNamespace(tenantNamespace);
    const applied = kubectl(['apply', '-f', '-'], manifest());
    assert.ok(applied.ok, applied.out);
    // The API server's authorizer learns new bindings from a watch: wait until it answers for them.
    for (let attempt = 0; attempt < 100 && !canI('create', 'executions.sandpod.dev', tenantNamespace); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(() => {
    if (problem) return;
    kubectl(['delete', '-f', '-', '--ignore-not-found'], manifest());
    deleteNamespace(tenantNamespace);
    if (createdSystemNamespace) deleteNamespace('sandpod-system');
  });

  it('should let the gateway start, follow and cancel executions in a tenant namespace', () => {
    for (const verb of ['create', 'get', 'list', 'watch', 'patch']) {
      assert.ok(canI(verb, 'executions.sandpod.dev', tenantNamespace), `${verb} executions`);
    }
    assert.ok(canI('get', 'pods/log', tenantNamespace), 'get pods/log');
    assert.ok(canI('create', 'pods/attach', tenantNamespace), 'create pods/attach');
    assert.ok(canI('list', 'runtimes.sandpod.dev'), 'list runtimes');
  });

  it('should deny the gateway what it never needs', () => {
    assert.ok(!canI('delete', 'executions.sandpod.dev', tenantNamespace), 'delete executions');
    assert.ok(!canI('update', 'executions.sandpod.dev/status', tenantNamespace), 'write status');
    assert.ok(!canI('get', 'secrets', tenantNamespace), 'read secrets');
    assert.ok(!canI('create', 'pods', tenantNamespace), 'create pods');
    assert.ok(!canI('create', 'pods/exec', tenantNamespace), 'exec into pods');
    assert.ok(!canI('create', 'runtimes.sandpod.dev'), 'create runtimes');
  });

  it('should let the gateway get, list and watch its tenants Secret, and no other', () => {
    for (const verb of ['get', 'list', 'watch']) {
      assert.ok(canINamed(verb, 'secrets', tenantsSecret, 'sandpod-system'), `${verb} its tenants Secret`);
      assert.ok(!canINamed(verb, 'secrets', 'another-secret', 'sandpod-system'), `${verb} another Secret`);
    }
    assert.ok(!canI('list', 'secrets', 'sandpod-system'), 'list every Secret');
    assert.ok(!canI('update', 'secrets', 'sandpod-system'), 'write Secrets');
    assert.ok(!canINamed('get', 'secrets', tenantsSecret, tenantNamespace), 'the same name elsewhere');
  });

  it('should let the gateway list and watch the Secret when it selects it by name, as it does', () => {
    const listed = getAsGateway(`${secretsPath}?${byName(tenantsSecret)}`);
    assert.ok(listed.ok, listed.out);
    const watched = getAsGateway(`${secretsPath}?watch=true&timeoutSeconds=1&${byName(tenantsSecret)}`);
    assert.ok(watched.ok, watched.out);

    const everything = getAsGateway(secretsPath);
    assert.ok(!everything.ok && /forbidden/i.test(everything.out), everything.out);
    const another = getAsGateway(`${secretsPath}?${byName('another-secret')}`);
    assert.ok(!another.ok && /forbidden/i.test(another.out), another.out);
  });

  it('should give the gateway nothing in a namespace that is no tenant of it', () => {
    assert.ok(!canI('create', 'executions.sandpod.dev', 'kube-system'));
    assert.ok(!canI('get', 'pods/log', 'kube-system'));
  });
});
