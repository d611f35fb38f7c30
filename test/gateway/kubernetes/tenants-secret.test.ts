import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { readTenantsSecret } from '../../../gateway/kubernetes/tenants-secret.js';

const ref = { namespace: 'sandpod-system', name: 'sandpod-tenants', key: 'tenants.yaml' };
const sha256Hex = (token: string) => createHash('sha256').update(token).digest('hex');
const secretWith = (data: Record<string, string>): V1Secret => ({
  metadata: { name: ref.name, namespace: ref.namespace, resourceVersion: '1' },
  data: Object.fromEntries(Object.entries(data).map(([key, text]) => [key, Buffer.from(text).toString('base64')])),
});
const problemOf = (secret: V1Secret | undefined) => {
  const content = readTenantsSecret(secret, ref);
  assert.equal(content.ok, false);
  return content.ok ? '' : content.problem;
};

describe('readTenantsSecret', () => {
  it('should read the tenants when the key holds a valid YAML list', () => {
    const content = readTenantsSecret(
      secretWith({
        'tenants.yaml': `- name: classroom\n  namespace: team-classroom\n  tokenSha256: ["${sha256Hex('t')}"]\n  maxConcurrent: 3\n`,
      }),
      ref,
    );

    assert.ok(content.ok);
    assert.deepEqual(content.tenants, [
      { name: 'classroom', namespace: 'team-classroom', tokenSha256: [sha256Hex('t')], maxConcurrent: 3 },
    ]);
  });

  it('should accept an empty list as no tenants', () => {
    assert.deepEqual(readTenantsSecret(secretWith({ 'tenants.yaml': '[]' }), ref), { ok: true, tenants: [] });
  });

  it('should refuse a tenant whose namespace is kube-system, default or the release namespace', () => {
    const tenantIn = (namespace: string) =>
      secretWith({ 'tenants.yaml': `- name: x\n  namespace: ${namespace}\n  tokenSha256: ["${sha256Hex('t')}"]\n` });
    assert.match(problemOf(tenantIn('kube-system')), /\[0\]\.namespace.*kube-system belongs to Kubernetes itself/);
    assert.match(problemOf(tenantIn('default')), /namespace default belongs to Kubernetes itself/);
    assert.match(problemOf(tenantIn('sandpod-system')), /sandpod-system is where sandpod itself runs/);
  });

  it('should say what is wrong when the Secret is missing, lacks the key, is empty or is not YAML', () => {
    assert.match(problemOf(undefined), /Secret sandpod-system\/sandpod-tenants does not exist/);
    assert.match(problemOf(secretWith({ other: '[]' })), /has no key tenants\.yaml/);
    assert.match(problemOf(secretWith({ 'tenants.yaml': '' })), /is empty/);
    assert.match(problemOf(secretWith({ 'tenants.yaml': '- name: [unclosed' })), /is not YAML/);
  });

  it('should name the field at fault when a tenant is invalid', () => {
    const text = `- name: ok\n  tokenSha256: ["${sha256Hex('a')}"]\n- name: Bad_Name\n  tokenSha256: ["${sha256Hex('b')}"]\n`;
    assert.match(problemOf(secretWith({ 'tenants.yaml': text })), /\[1\]\.name/);
    assert.match(problemOf(secretWith({ 'tenants.yaml': '- name: a\n  tokenSha256: [plain-token]\n' })), /tokenSha256/);
    assert.match(problemOf(secretWith({ 'tenants.yaml': 'name: not-a-list\n' })), /invalid/);
  });
});
