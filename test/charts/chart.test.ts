import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { chartDir, ciValues, helm, helmPath, renderChart, templateArgs } from '../../charts/render.js';
import { VALUES_SCHEMA_PATH, valuesSchema } from '../../charts/values-schema.js';
import { parseConfig } from '../../gateway/config.js';
import { parseOperatorConfig } from '../../operator/config.js';
import { configMapFile, findObject, objectsOf, VALUES_SETS } from './rendered.js';

// helm lint and helm template over the chart with its default values and with every optional part
// on, values.schema.json refusing bad values with the path of the value at fault, and the
// configuration files the chart renders accepted by the gateway's and the operator's own schemas.

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** helm template with extra --set pairs; the refusal message when helm refuses. */
function refusal(set: string[]): string {
  const result = helm(['template', ...templateArgs({ set })]);
  assert.equal(result.ok, false, `helm template accepted ${set.join(' ')}`);
  return result.stderr;
}

describe('helm chart charts/sandpod', function () {
  // The first call may build helm from Go modules (scripts/tool-path.sh helm); make test builds it first.
  this.timeout(900_000);

  before(() => {
    helmPath();
  });

  describe('helm lint', () => {
    for (const set of VALUES_SETS) {
      it(`should pass --strict with the ${set} values`, () => {
        const args = ['lint', '--strict', chartDir, '--namespace', 'sandpod-system'];
        if (set !== 'default') args.push('--values', ciValues(set));
        const result = helm(args);
        assert.ok(result.ok, `${result.stdout}${result.stderr}`);
        assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });
    }
  });

  describe('helm template', () => {
    it('should render the operator, gateway, RBAC, RuntimeClass, Runtimes, seccomp installer and tenant objects by default', () => {
      const kinds = new Set(objectsOf('default').map((object) => object.kind));
      for (const kind of [
        'Deployment',
        'Service',
        'ConfigMap',
        'Secret',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'PodDisruptionBudget',
        'RuntimeClass',
        'Runtime',
        'DaemonSet',
        'Namespace',
        'NetworkPolicy',
        'ResourceQuota',
        'LimitRange',
      ]) {
        assert.ok(kinds.has(kind), `no ${kind}`);
      }
      for (const kind of ['Ingress', 'HorizontalPodAutoscaler', 'ServiceMonitor']) {
        assert.ok(!kinds.has(kind), `${kind} is optional and off by default`);
      }
    });

    it('should render the Ingress, HorizontalPodAutoscaler and ServiceMonitors when they are turned on', () => {
      const objects = objectsOf('all-features');
      const ingress = findObject<{ spec: { tls: { secretName: string }[]; rules: { host: string }[] } }>(
        objects,
        'Ingress',
        'sandpod-gateway',
      );
      assert.equal(ingress.spec.rules[0]?.host, 'run.example.com');
      assert.equal(ingress.spec.tls[0]?.secretName, 'run-example-com-tls');
      const hpa = findObject<{ spec: { minReplicas: number; maxReplicas: number } }>(
        objects,
        'HorizontalPodAutoscaler',
        'sandpod-gateway',
      );
      assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 12]);
      const gateway = findObject<{ spec: { replicas?: number } }>(objects, 'Deployment', 'sandpod-gateway');
      assert.equal(gateway.spec.replicas, undefined, 'the HPA owns the replica count');
      findObject(objects, 'ServiceMonitor', 'sandpod-gateway');
      findObject(objects, 'ServiceMonitor', 'sandpod-operator');
    });

    it('should run two operator replicas with leader election on a release-scoped Lease', () => {
      const objects = objectsOf('default');
      const operator = findObject<{ spec: { replicas: number } }>(objects, 'Deployment', 'sandpod-operator');
      assert.equal(operator.spec.replicas, 2);
      const config = parseOperatorConfig(yaml.load(configMapFile(objects, 'sandpod-operator', 'operator.yaml')));
      assert.equal(config.leaderElection.enabled, true);
      assert.equal(config.leaderElection.leaseName, 'sandpod-operator');
      assert.equal(config.leaderElection.leaseNamespace, 'sandpod-system');
      const role = findObject<{
        rules: { resourceNames?: string[] }[];
      }>(objects, 'Role', 'sandpod-operator-leader-election');
      assert.ok(role.rules.some((rule) => rule.resourceNames?.includes('sandpod-operator')));
    });

    it('should name every object after the release, so two releases do not collide', () => {
      const a = renderChart({ release: 'alpha', namespace: 'a' }).map(
        (d) => `${d.object.kind}/${d.object.metadata.name}`,
      );
      const b = new Set(
        renderChart({ release: 'beta', namespace: 'b' }).map((d) => `${d.object.kind}/${d.object.metadata.name}`),
      );
      const shared = a.filter((key) => b.has(key));
      // Runtimes are named by language and the RuntimeClass by what pods ask for; both can be turned off.
      // Tenant namespaces and what is in them belong to the tenant, named the same in every release.
      for (const key of shared) {
        assert.match(key, /^(Runtime|RuntimeClass|Namespace|NetworkPolicy|ResourceQuota|LimitRange)\//, key);
      }
    });
  });

  describe('values.schema.json', () => {
    const cases: [string, string[], RegExp][] = [
      ['a negative replica count', ['operator.replicas=-1'], /operator\/replicas/],
      ['an unknown key (a misspelling)', ['gateway.replica=3'], /replica/],
      ['a gateway watch mode that does not exist', ['gateway.watch=some'], /gateway\/watch/],
      ['a tenant name that is no DNS label', ['tenants[0].name=Not_A_Label'], /tenants\/0\/name/],
      ['a token hash that is not sha256 hex', ['tenants[0].tokenSha256[0]=abc'], /tenants\/0\/tokenSha256\/0/],
      ['an unknown seccomp type', ['executions.seccomp.type=Unconfined'], /executions\/seccomp\/type/],
      [
        'a limit above its absolute bound',
        ['executions.limits.maxima.memoryMiB=100000'],
        /executions\/limits\/maxima\/memoryMiB/,
      ],
      ['a string where a number belongs', ['gateway.port=http'], /gateway\/port/],
      ['a digest that is not sha256', ['images.digest=latest'], /images\/digest/],
      ['a container without a memory limit', ['gateway.resources.limits=null'], /gateway\/resources/],
      [
        'a misspelt gateway setting',
        ['gateway.config.socket.idleTimeoutMS=5'],
        /gateway\/config\/socket.*idleTimeoutMS/,
      ],
      [
        'an operator setting the operator would refuse',
        ['operator.config.queue.workers=0'],
        /operator\/config\/queue\/workers/,
      ],
    ];
    for (const [what, set, path] of cases) {
      it(`should refuse ${what}, naming the value`, () => {
        assert.match(refusal(set), path);
      });
    }

    it("should hold the gateway's and the operator's configuration schemas as the code defines them", () => {
      const committed = JSON.parse(readFileSync(VALUES_SCHEMA_PATH, 'utf8'));
      assert.deepEqual(committed, valuesSchema(committed), 'values.schema.json is stale: run make manifests');
    });

    it('should refuse limit defaults above their maxima, naming both', () => {
      assert.match(
        refusal(['executions.limits.defaults.memoryMiB=2000']),
        /executions\.limits\.defaults\.memoryMiB \(2000\) is above executions\.limits\.maxima\.memoryMiB/,
      );
    });

    it('should refuse an operator watchNamespace that leaves a tenant namespace unserved', () => {
      assert.match(refusal(['operator.watchNamespace=elsewhere']), /tenant namespace sandpod-demo would never run/);
    });

    it('should refuse a tenant namespace of Kubernetes itself or of the release', () => {
      const withTenant = (namespace: string) => [`tenants[0].name=demo`, `tenants[0].namespace=${namespace}`];
      assert.match(refusal(withTenant('kube-system')), /namespace kube-system belongs to Kubernetes itself/);
      assert.match(refusal(withTenant('kube-public')), /namespace kube-public belongs to Kubernetes itself/);
      assert.match(refusal(withTenant('default')), /namespace default belongs to Kubernetes itself/);
      assert.match(refusal(withTenant('sandpod-system')), /sandpod-system is the release namespace/);
    });

    it('should refuse a tenant listed twice', () => {
      const result = helm(['template', ...templateArgs({}), '--set-json', 'tenants=[{"name":"a"},{"name":"a"}]']);
      assert.equal(result.ok, false);
      assert.match(result.stderr, /"a" is listed twice/);
    });

    it('should refuse a tenant without a token when the chart may not make one', () => {
      assert.match(refusal(['tenantTokens.generate=false']), /tenant "demo" has no token/);
    });

    it('should refuse an existing token Secret it cannot read, saying how else to give tokens', () => {
      assert.match(refusal(['tenantTokens.existingSecret=my-tokens']), /my-tokens was not found.*tokenSha256/s);
    });
  });

  describe('rendered configuration', () => {
    for (const set of VALUES_SETS) {
      it(`should give the gateway a file gateway/config.ts accepts with the ${set} values`, () => {
        const config = parseConfig(yaml.load(configMapFile(objectsOf(set), 'sandpod-gateway', 'gateway.yaml')));
        assert.equal(config.backend, 'kubernetes');
        assert.equal(config.host, '0.0.0.0');
      });

      it(`should give the operator a file operator/config.ts accepts with the ${set} values`, () => {
        const file = yaml.load(configMapFile(objectsOf(set), 'sandpod-operator', 'operator.yaml'));
        assert.doesNotThrow(() => parseOperatorConfig(file));
      });
    }

    it('should hand the gateway only the sha256 of the token it put in the tenant-tokens Secret', () => {
      const objects = objectsOf('default');
      const secret = findObject<{ data: Record<string, string> }>(objects, 'Secret', 'sandpod-tenant-tokens');
      const token = Buffer.from(secret.data.demo ?? '', 'base64').toString();
      assert.match(token, /^[A-Za-z0-9]{40}$/);
      const file = configMapFile(objects, 'sandpod-gateway', 'gateway.yaml');
      assert.ok(!file.includes(token), 'the plain token is in the gateway configuration');
      const config = parseConfig(yaml.load(file));
      assert.deepEqual(
        config.tenants.map((tenant) => [tenant.name, tenant.tokenSha256]),
        [['demo', [sha256(token)]]],
      );
    });

    it('should keep given hashes, map tenants to their own namespaces and make no token for them', () => {
      const objects = objectsOf('all-features');
      const config = parseConfig(yaml.load(configMapFile(objects, 'sandpod-gateway', 'gateway.yaml')));
      const judge = config.tenants.find((tenant) => tenant.name === 'judge');
      assert.deepEqual(judge?.tokenSha256, ['9f86d081884c7d659a2feaa0c55ad015a2bea3f1b3a0e6c0b7e0e3b2c1d4e5f6']);
      assert.equal(judge?.ratePerSecond, 50);
      assert.deepEqual(config.kubernetes.namespaces, {
        judge: 'judging',
        'judge-staging': 'judging',
        existing: 'team-existing',
      });
      const secret = findObject<{ data: Record<string, string> }>(objects, 'Secret', 'sandpod-tenant-tokens');
      assert.deepEqual(Object.keys(secret.data).sort(), ['classroom', 'existing', 'judge-staging']);
      assert.equal(config.tenants.find((tenant) => tenant.name === 'classroom')?.limits?.maxima.memoryMiB, 512);
    });

    it('should put the tenants in a Secret only the gateway may read, in the shape of its tenants setting', () => {
      const objects = objectsOf('tenants-secret');
      const secret = findObject<{ data: Record<string, string> }>(objects, 'Secret', 'sandpod-tenants');
      const tenants = yaml.load(Buffer.from(secret.data['tenants.yaml'] ?? '', 'base64').toString());
      const config = parseConfig({ tenants });
      assert.deepEqual(
        config.tenants.map((tenant) => tenant.name),
        ['watched', 'hashed'],
      );
      const file = yaml.load(configMapFile(objects, 'sandpod-gateway', 'gateway.yaml')) as {
        tenants: unknown[];
        kubernetes: { tenantsSecret: unknown };
      };
      assert.deepEqual(file.tenants, [], 'the tenants are in the Secret only');
      assert.deepEqual(file.kubernetes.tenantsSecret, { namespace: 'sandpod-system', name: 'sandpod-tenants' });
      const role = findObject<{ rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }>(
        objects,
        'Role',
        'sandpod-gateway-tenants',
      );
      assert.deepEqual(role.rules, [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['sandpod-tenants'],
          verbs: ['get', 'list', 'watch'],
        },
      ]);
    });

    it('should pass the execution policy to the operator: RuntimeClass, seccomp, limits, cap and node pool', () => {
      const file = yaml.load(configMapFile(objectsOf('all-features'), 'sandpod-operator', 'operator.yaml')) as {
        pod: Record<string, unknown>;
        capacity: { maxRunningPerNamespace: number };
        status: { podStartTimeoutSeconds: number };
      };
      assert.equal(file.pod.runtimeClassName, 'gvisor');
      assert.deepEqual(file.pod.seccomp, { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' });
      assert.deepEqual(file.pod.nodeSelector, { 'sandpod.dev/pool': 'executions' });
      assert.deepEqual(file.pod.tolerations, [
        { key: 'sandpod.dev/executions', operator: 'Exists', effect: 'NoSchedule' },
      ]);
      assert.equal(file.pod.cpuRequest, 0.25);
      assert.equal(file.capacity.maxRunningPerNamespace, 16);
      assert.equal(file.status.podStartTimeoutSeconds, 300, 'operator.config is merged over the chart');
    });

    it('should confine the operator to watchNamespace with a RoleBinding there, and let the gateway watch Executions cluster-wide for watch all', () => {
      const objects = objectsOf('watch-all');
      const operator = parseOperatorConfig(yaml.load(configMapFile(objects, 'sandpod-operator', 'operator.yaml')));
      assert.equal(operator.watchNamespace, 'sandpod-demo');
      assert.deepEqual(operator.pod.seccomp, { type: 'RuntimeDefault' });
      assert.equal(operator.pod.runtimeClassName, 'kata');
      findObject(objects, 'RoleBinding', 'sandpod-operator', 'sandpod-demo');
      assert.ok(!objects.some((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'sandpod-operator'));
      findObject(objects, 'ClusterRoleBinding', 'sandpod-gateway-executions');
      // Pod logs and attach stay with the tenant namespaces even so.
      findObject(objects, 'RoleBinding', 'sandpod-gateway', 'sandpod-demo');
      assert.ok(!objects.some((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'sandpod-gateway-tenant'));
      assert.ok(!objects.some((o) => o.kind === 'DaemonSet'), 'RuntimeDefault needs no profile on the nodes');
      const runtimeClass = findObject<{ handler?: string }>(objects, 'RuntimeClass', 'kata');
      assert.equal(runtimeClass.handler, 'kata-qemu');
    });
  });
});
