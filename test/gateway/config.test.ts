import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../gateway/config.js';

const token = 'a'.repeat(64);
const tenant = (fields: Record<string, unknown>) => ({ name: 'acme', tokenSha256: [token], ...fields });

describe('gateway configuration', () => {
  describe('tenant namespaces', () => {
    const refused: [string, unknown, RegExp][] = [
      [
        'a tenant namespace kube-system',
        { tenants: [tenant({ namespace: 'kube-system' })] },
        /tenants\[0\]\.namespace.*kube-system belongs to Kubernetes/,
      ],
      [
        'any kube-* namespace',
        { tenants: [tenant({ namespace: 'kube-node-lease' })] },
        /kube-node-lease belongs to Kubernetes/,
      ],
      [
        'the default namespace',
        { tenants: [tenant({ namespace: 'default' })] },
        /namespace default belongs to Kubernetes/,
      ],
      [
        'a prefix that makes a tenant land in kube-system',
        { tenants: [tenant({ name: 'system' })], kubernetes: { namespacePrefix: 'kube-' } },
        /tenants\[0\]\.name.*kube-system belongs to Kubernetes/,
      ],
      [
        'kubernetes.namespaces naming kube-system',
        { tenants: [tenant({})], kubernetes: { namespaces: { acme: 'kube-system' } } },
        /kubernetes\.namespaces\.acme.*kube-system/,
      ],
      [
        'the release namespace',
        { tenants: [tenant({ namespace: 'sandpod-system' })], kubernetes: { releaseNamespace: 'sandpod-system' } },
        /sandpod-system is where sandpod itself runs/,
      ],
      [
        "the tenants Secret's namespace",
        {
          backend: 'kubernetes',
          kubernetes: { namespaces: { acme: 'ops' }, tenantsSecret: { namespace: 'ops', name: 't' } },
        },
        /kubernetes\.namespaces\.acme.*ops is where sandpod itself runs/,
      ],
    ];
    for (const [what, input, message] of refused) {
      it(`should refuse ${what}, naming the field`, () => {
        assert.throws(
          () => parseConfig(input),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.match(error.message, message);
            return true;
          },
        );
      });
    }

    it('should accept tenant namespaces of their own', () => {
      const config = parseConfig({
        tenants: [tenant({ namespace: 'acme-runs' }), { name: 'kube', tokenSha256: ['b'.repeat(64)] }],
        kubernetes: { releaseNamespace: 'sandpod-system' },
      });
      assert.equal(config.tenants.length, 2, 'sandpod-kube is not a kube-* namespace');
    });
  });
});
