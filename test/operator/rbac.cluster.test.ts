import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { parseOperatorConfig } from '../../operator/config.js';
import { planExecution } from '../../operator/plan.js';
import { desiredPod } from '../../operator/pod.js';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  repoPath,
  runtimeClassExists,
  skipOrFail,
} from '../helpers/cluster-suite.js';
import { execution, runtime } from './fixtures.js';

// Needs a control plane only: manifests/rbac/operator.yaml and operator-pod-policy.yaml applied to
// the dev cluster's API server, and the operator's service account asked, through impersonation,
// what it may do, and made to create pods with server-side dry runs: RBAC and the
// ValidatingAdmissionPolicy both answer a dry run as they would a create, and nothing is stored.

const problem = clusterProblem();
const title = problem
  ? `operator RBAC and pod policy — SKIPPED, NO CLUSTER: ${problem}`
  : 'operator RBAC and pod policy on the dev cluster API server (needs the dev cluster API server)';

const operator = 'system:serviceaccount:sandpod-system:sandpod-operator';
const tenantNamespace = `sandpod-oprbac-${process.pid}-${Date.now().toString(36)}`;
/**
 * The manifests' cluster-wide objects and tenant RoleBinding, the latter in this run's namespace.
 * Impersonation needs no ServiceAccount object, so what lives in sandpod-system (the account, the
 * leader-election Role) is left out, and that namespace is neither made nor deleted here.
 */
const manifests = () =>
  ['manifests/rbac/operator.yaml', 'manifests/rbac/operator-pod-policy.yaml']
    .flatMap((file) => readFileSync(repoPath(file), 'utf8').split(/^---$/m))
    .filter((document) => !/^ {2}namespace: sandpod-system$/m.test(document))
    .map((document) => document.replaceAll('namespace: sandpod-default', `namespace: ${tenantNamespace}`))
    .join('\n---\n');

/** `resource` may name a subresource as `pods/log`. */
function canI(verb: string, resource: string, namespace: string): boolean {
  const [kind, subresource] = resource.split('/') as [string, string | undefined];
  const args = ['auth', 'can-i', verb, kind, `--as=${operator}`, '-n', namespace];
  if (subresource) args.push(`--subresource=${subresource}`);
  return kubectl(args)
    .out.split('\n')
    .some((line) => line.trim() === 'yes');
}

/** A server-side dry run of creating the pod as the operator: the API server's answer. */
function createAsOperator(pod: V1Pod): { ok: boolean; out: string } {
  return kubectl(['create', '--dry-run=server', `--as=${operator}`, '-f', '-'], JSON.stringify(pod));
}

/** The pod operator/pod.ts makes for a Python run, with the pod policy manifests/ configures. */
function operatorPod(): V1Pod {
  const configured = readFileSync(repoPath('manifests/operator/configmap.yaml'), 'utf8');
  const policy = parseOperatorConfig({
    pod: { runtimeClassName: 'gvisor', seccomp: { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' } },
  });
  assert.match(configured, /runtimeClassName: gvisor/, 'manifests/ configure RuntimeClass gvisor');
  const ex = execution({ stdin: 'x\n' }, {});
  ex.metadata.namespace = tenantNamespace;
  const planned = planExecution(ex, runtime(), policy);
  assert.ok(planned.ok);
  return desiredPod(ex, runtime(), planned.plan, policy.pod);
}

/** The operator's pod with one change; `change` edits a copy. */
function podWith(change: (pod: V1Pod & { spec: NonNullable<V1Pod['spec']> }) => void): V1Pod {
  const pod = structuredClone(operatorPod()) as V1Pod & { spec: NonNullable<V1Pod['spec']> };
  change(pod);
  return pod;
}

/** The run container's securityContext, to change in place. */
function runSecurity(pod: V1Pod & { spec: NonNullable<V1Pod['spec']> }) {
  const run = pod.spec.containers[0];
  if (!run?.securityContext) throw new Error('the operator pod has no run container security context');
  return run.securityContext;
}

describe(title, function () {
  this.timeout(120_000);
  before(async function () {
    if (problem) skipOrFail(this, problem);
    if (!runtimeClassExists('gvisor')) skipOrFail(this, 'the dev cluster has no RuntimeClass gvisor (node.sh)');
    installCrds();
    createNamespace(tenantNamespace);
    // A ServiceAccount that exists, so that the policy, not the ServiceAccount plugin, answers.
    assert.ok(kubectl(['create', 'serviceaccount', 'admin', '-n', tenantNamespace]).ok);
    const applied = kubectl(['apply', '-f', '-'], manifests());
    assert.ok(applied.ok, applied.out);
    // The authorizer and the policy plugin learn new objects from watches: wait until both answer.
    for (let attempt = 0; attempt < 100; attempt++) {
      const refused = createAsOperator(podWith((pod) => (pod.spec.hostNetwork = true)));
      if (canI('create', 'pods', tenantNamespace) && /ValidatingAdmissionPolicy/.test(refused.out)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  after(() => {
    if (problem) return;
    kubectl(['delete', '-f', '-', '--ignore-not-found'], manifests());
    deleteNamespace(tenantNamespace);
  });

  it('should let the operator create pods and Secrets in a tenant namespace only', () => {
    assert.ok(canI('create', 'pods', tenantNamespace), 'create pods in the tenant namespace');
    assert.ok(canI('create', 'secrets', tenantNamespace), 'create Secrets in the tenant namespace');
    assert.ok(canI('get', 'secrets', tenantNamespace), 'read the owner of an input Secret');
    assert.ok(!canI('list', 'secrets', tenantNamespace), 'list Secrets');
    for (const namespace of ['kube-system', 'default', 'sandpod-system']) {
      assert.ok(!canI('create', 'pods', namespace), `create pods in ${namespace}`);
      assert.ok(!canI('get', 'secrets', namespace), `read Secrets in ${namespace}`);
      assert.ok(!canI('get', 'pods/log', namespace), `read pod logs in ${namespace}`);
    }
  });

  it('should admit the pod the operator makes', () => {
    const created = createAsOperator(operatorPod());
    assert.ok(created.ok, created.out);
  });

  const refusals: [string, (pod: V1Pod & { spec: NonNullable<V1Pod['spec']> }) => void, RegExp][] = [
    ['without the sandbox RuntimeClass', (pod) => delete pod.spec.runtimeClassName, /RuntimeClass gvisor/],
    ['on the host network', (pod) => (pod.spec.hostNetwork = true), /host's network/],
    ['with a host path', (pod) => pod.spec.volumes?.push({ name: 'h', hostPath: { path: '/' } }), /emptyDir volumes/],
    [
      'with another Secret mounted',
      (pod) => pod.spec.volumes?.push({ name: 's', secret: { secretName: 'db' } }),
      /input Secret/,
    ],
    ['with a ServiceAccount token', (pod) => (pod.spec.automountServiceAccountToken = true), /without its token/],
    ['as another ServiceAccount', (pod) => (pod.spec.serviceAccountName = 'admin'), /default ServiceAccount/],
    [
      'privileged',
      (pod) => Object.assign(runSecurity(pod), { privileged: true, allowPrivilegeEscalation: true }),
      /not\s+privileged/,
    ],
    [
      'with a capability added',
      (pod) => (runSecurity(pod).capabilities = { add: ['SYS_ADMIN'], drop: ['ALL'] }),
      /drop ALL/,
    ],
    ['with a writable root', (pod) => (runSecurity(pod).readOnlyRootFilesystem = false), /read-only root/],
    ['as root', (pod) => (pod.spec.securityContext = { runAsUser: 0, runAsNonRoot: false }), /non-root/],
    ['without the managed-by label', (pod) => (pod.metadata = { ...pod.metadata, labels: {} }), /managed-by=sandpod/],
    [
      'without an Execution owning it',
      (pod) => (pod.metadata = { ...pod.metadata, ownerReferences: [] }),
      /controlled by an Execution/,
    ],
  ];
  for (const [what, change, message] of refusals) {
    it(`should refuse a pod ${what} from the operator`, () => {
      const refused = createAsOperator(podWith(change));
      assert.equal(refused.ok, false, `admitted a pod ${what}`);
      assert.match(refused.out, /ValidatingAdmissionPolicy/);
      assert.match(refused.out, message);
    });
  }
});
