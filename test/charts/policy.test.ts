import assert from 'node:assert/strict';
import type { K8sObject } from '../../charts/render.js';
import { helmPath } from '../../charts/render.js';
import { type Container, objectsOf, podTemplates, VALUES_SETS } from './rendered.js';

// Rules over every object the chart renders, for every values set: what a reviewer of a
// production install would check by hand.

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** The one workload allowed to run as root: it writes the seccomp profile into the kubelet's directory. */
const ROOT_ALLOWED = new Set(['sandpod-seccomp-installer']);

const tenantNamespacesOf = (objects: K8sObject[]) =>
  [
    ...new Set(
      objects
        .filter((object) => object.kind === 'RoleBinding' && object.metadata.name === 'sandpod-gateway')
        .map((object) => object.metadata.namespace ?? ''),
    ),
  ].sort();

/** Whether a ClusterRoleBinding grants this ClusterRole in every namespace. */
function boundClusterWide(objects: K8sObject[], role: K8sObject): boolean {
  if (role.kind !== 'ClusterRole') return false;
  return objects.some(
    (o) =>
      o.kind === 'ClusterRoleBinding' &&
      (o as unknown as { roleRef: { name: string } }).roleRef.name === role.metadata.name,
  );
}

describe('chart policy', function () {
  this.timeout(900_000);
  before(() => {
    helmPath();
  });

  for (const set of VALUES_SETS) {
    describe(`with the ${set} values`, () => {
      const containers = () =>
        podTemplates(objectsOf(set)).flatMap(({ owner, spec }) =>
          [...spec.containers, ...(spec.initContainers ?? [])].map((container) => ({ owner, spec, container })),
        );
      const where = (owner: K8sObject, container: Container) =>
        `${owner.kind} ${owner.metadata.name}/${container.name}`;

      it('should run no privileged container, none that may gain privileges, none with a capability', () => {
        for (const { owner, spec, container } of containers()) {
          const context = container.securityContext ?? {};
          assert.notEqual(context.privileged, true, where(owner, container));
          assert.equal(context.allowPrivilegeEscalation, false, where(owner, container));
          assert.deepEqual(context.capabilities?.drop, ['ALL'], where(owner, container));
          assert.equal(context.capabilities?.add, undefined, where(owner, container));
          for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
            assert.notEqual(spec[field], true, `${where(owner, container)}: ${field}`);
          }
        }
      });

      it('should give every container cpu and memory limits and a read-only root', () => {
        for (const { owner, container } of containers()) {
          assert.ok(container.resources?.limits?.cpu, `${where(owner, container)}: no cpu limit`);
          assert.ok(container.resources?.limits?.memory, `${where(owner, container)}: no memory limit`);
          assert.equal(container.securityContext?.readOnlyRootFilesystem, true, where(owner, container));
        }
      });

      it('should run the gateway and operator as non-root with probes, seccomp and spread replicas', () => {
        for (const { owner, spec, container } of containers()) {
          if (ROOT_ALLOWED.has(owner.metadata.name)) continue;
          const pod = spec.securityContext as {
            runAsNonRoot?: boolean;
            runAsUser?: number;
            seccompProfile?: { type: string };
          };
          assert.equal(pod.runAsNonRoot, true, where(owner, container));
          assert.ok((pod.runAsUser ?? 0) > 0, where(owner, container));
          assert.equal(pod.seccompProfile?.type, 'RuntimeDefault', where(owner, container));
          assert.ok(container.readinessProbe && container.livenessProbe, `${where(owner, container)}: probes`);
          assert.ok(spec.topologySpreadConstraints, `${where(owner, container)}: topology spread`);
        }
      });

      it('should mount a host path only into the seccomp installer, and only the kubelet seccomp directory', () => {
        for (const { owner, spec } of podTemplates(objectsOf(set))) {
          for (const volume of spec.volumes ?? []) {
            if (!volume.hostPath) continue;
            assert.ok(ROOT_ALLOWED.has(owner.metadata.name), `${owner.metadata.name} mounts a host path`);
            assert.match((volume.hostPath as { path: string }).path, /\/seccomp$/);
          }
        }
      });

      it('should grant no wildcard and no verb that escalates, and read no Secret', () => {
        for (const object of objectsOf(set).filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
          for (const rule of (object as unknown as { rules: Rule[] }).rules) {
            const at = `${object.kind} ${object.metadata.name}`;
            for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) {
              assert.ok(!list.includes('*'), `${at} has a wildcard`);
            }
            for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) {
              assert.ok(!rule.verbs.includes(verb), `${at} may ${verb}`);
            }
            if (rule.resources?.includes('secrets') && !rule.resourceNames?.length) {
              // The operator's `get` checks who owns an input Secret; it is bound in tenant namespaces only.
              const reads = rule.verbs.filter((verb) => ['get', 'list', 'watch'].includes(verb));
              assert.ok(
                reads.length === 0 || (reads.join() === 'get' && !boundClusterWide(objectsOf(set), object)),
                `${at} reads Secrets it did not name`,
              );
            }
            assert.ok(!rule.resources?.includes('pods/exec'), `${at} may exec into pods`);
          }
        }
      });

      it('should grant pod creation, pod logs, attach and Secrets only in tenant namespaces', () => {
        const objects = objectsOf(set);
        const operatorEverywhere = objects.some(
          (o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'sandpod-operator-tenant',
        );
        for (const role of objects.filter((o) => o.kind === 'ClusterRole' && boundClusterWide(objects, o))) {
          if (operatorEverywhere && role.metadata.name === 'sandpod-operator-tenant') continue;
          for (const rule of (role as unknown as { rules: Rule[] }).rules) {
            const at = `ClusterRole ${role.metadata.name}, bound cluster-wide,`;
            const resources = rule.resources ?? [];
            assert.ok(!resources.includes('pods/log') && !resources.includes('pods/attach'), `${at} reaches into pods`);
            assert.ok(!resources.includes('secrets'), `${at} touches Secrets`);
            if (resources.includes('pods')) {
              assert.deepEqual(
                rule.verbs.filter((verb) => !['get', 'list', 'watch'].includes(verb)),
                [],
                `${at} changes pods`,
              );
            }
          }
        }
      });

      it('should hold pods the operator creates to the pod policy with a ValidatingAdmissionPolicy', () => {
        const objects = objectsOf(set);
        const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as
          | (K8sObject & {
              spec: { failurePolicy: string; matchConditions: { expression: string }[]; validations: unknown[] };
            })
          | undefined;
        assert.ok(policy, 'no ValidatingAdmissionPolicy');
        assert.equal(policy.spec.failurePolicy, 'Fail');
        assert.match(
          policy.spec.matchConditions.map((condition) => condition.expression).join('\n'),
          /system:serviceaccount:[a-z0-9-]+:sandpod-operator'/,
        );
        assert.ok(policy.spec.validations.length >= 8);
        const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding') as
          | (K8sObject & { spec: { policyName: string; validationActions: string[]; matchResources?: unknown } })
          | undefined;
        assert.equal(binding?.spec.policyName, policy.metadata.name);
        assert.deepEqual(binding?.spec.validationActions, ['Deny']);
        assert.equal(binding?.spec.matchResources, undefined, 'every namespace');
      });

      it('should put a default-deny NetworkPolicy, a ResourceQuota and a LimitRange in every tenant namespace', () => {
        const objects = objectsOf(set);
        const gatewayWatchesAll = objects.some(
          (o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'sandpod-gateway-executions',
        );
        const namespaces = gatewayWatchesAll
          ? [...new Set(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.namespace ?? ''))]
          : tenantNamespacesOf(objects);
        assert.ok(namespaces.length > 0, 'no tenant namespace');
        for (const namespace of namespaces) {
          const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === namespace) as
            | { spec: { podSelector: object; policyTypes: string[]; ingress?: unknown; egress?: unknown } }
            | undefined;
          assert.ok(policy, `no NetworkPolicy in ${namespace}`);
          assert.deepEqual(policy.spec.podSelector, {}, `${namespace}: the policy must select every pod`);
          assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
          assert.equal(policy.spec.ingress, undefined, `${namespace}: an ingress rule lets traffic in`);
          assert.equal(policy.spec.egress, undefined, `${namespace}: an egress rule lets traffic out`);
          for (const kind of ['ResourceQuota', 'LimitRange']) {
            assert.ok(
              objects.some((o) => o.kind === kind && o.metadata.namespace === namespace),
              `no ${kind} in ${namespace}`,
            );
          }
          const quota = objects.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === namespace) as
            | (K8sObject & { spec: { hard: Record<string, string> } })
            | undefined;
          for (const resource of ['pods', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'count/secrets']) {
            assert.ok(quota?.spec.hard[resource], `${namespace}: the quota has no ${resource}`);
          }
          // A custom resource in a quota installed with its CRD refuses every create until the
          // quota controller's next full resync (minutes): never in the defaults.
          assert.equal(quota?.spec.hard['count/executions.sandpod.dev'], undefined);
        }
      });

      it('should enforce Pod Security restricted on every tenant namespace it creates', () => {
        for (const namespace of objectsOf(set).filter((o) => o.kind === 'Namespace')) {
          if (namespace.metadata.name === 'sandpod-system') continue;
          assert.equal(
            namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'],
            'restricted',
            namespace.metadata.name,
          );
        }
      });
    });
  }
});
