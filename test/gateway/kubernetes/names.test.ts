import assert from 'node:assert/strict';
import { LABELS } from '../../../contract/objects.js';
import {
  belongsTo,
  executionRef,
  newExecutionName,
  tenantNamespace,
  tenantNamespaces,
} from '../../../gateway/kubernetes/names.js';

const settings = { namespacePrefix: 'sandpod-', namespaces: { acme: 'acme-runs', shared1: 'pool', shared2: 'pool' } };

describe('kubernetes names', () => {
  describe('tenantNamespace', () => {
    it('should prefix the tenant when it has no namespace of its own', () => {
      assert.equal(tenantNamespace('alpha', settings), 'sandpod-alpha');
    });

    it('should use the mapped namespace when the tenant has one', () => {
      assert.equal(tenantNamespace('acme', settings), 'acme-runs');
    });
  });

  describe('tenantNamespaces', () => {
    it('should list each namespace once, sorted, when tenants share one', () => {
      assert.deepEqual(tenantNamespaces(['shared2', 'alpha', 'shared1'], 'default', settings), [
        'pool',
        'sandpod-alpha',
      ]);
    });

    it('should watch the loopback tenant when no tenants are configured', () => {
      assert.deepEqual(tenantNamespaces([], 'default', settings), ['sandpod-default']);
    });
  });

  describe('executionRef', () => {
    it("should place the id in the tenant's namespace when the id is a name", () => {
      assert.deepEqual(executionRef('alpha', 'ex-abc123', settings), { namespace: 'sandpod-alpha', name: 'ex-abc123' });
    });

    for (const id of ['', '../pods', 'a/b', 'UPPER', 'ex-', '-ex', `x${'a'.repeat(63)}`, 'a.b', 'sandpod-alpha/ex-1']) {
      it(`should refuse ${JSON.stringify(id)} when it cannot be an Execution name`, () => {
        assert.equal(executionRef('alpha', id, settings), undefined);
      });
    }
  });

  describe('newExecutionName', () => {
    it('should give a DNS label of ex- and 16 characters when asked', () => {
      const name = newExecutionName();

      assert.match(name, /^ex-[a-z0-9]{16}$/);
      assert.ok(executionRef('alpha', name, settings));
    });

    it('should differ between calls when the random source differs', () => {
      const names = new Set(Array.from({ length: 100 }, () => newExecutionName()));

      assert.equal(names.size, 100);
    });

    it('should map each random byte into the alphabet when given bytes', () => {
      const name = newExecutionName((size) => Buffer.alloc(size, 37));

      assert.equal(name, `ex-${'b'.repeat(16)}`);
    });
  });

  describe('belongsTo', () => {
    it("should accept an Execution in the tenant's namespace with the tenant's label", () => {
      assert.ok(belongsTo({ namespace: 'sandpod-alpha', labels: { [LABELS.tenant]: 'alpha' } }, 'alpha', settings));
    });

    it("should accept an unlabelled Execution (made with kubectl) in the tenant's namespace", () => {
      assert.ok(belongsTo({ namespace: 'sandpod-alpha' }, 'alpha', settings));
    });

    it('should refuse an Execution in another namespace', () => {
      assert.equal(belongsTo({ namespace: 'sandpod-beta' }, 'alpha', settings), false);
      assert.equal(belongsTo(undefined, 'alpha', settings), false);
    });

    it('should refuse the Execution of another tenant when two tenants share a namespace', () => {
      const metadata = { namespace: 'pool', labels: { [LABELS.tenant]: 'shared1' } };

      assert.ok(belongsTo(metadata, 'shared1', settings));
      assert.equal(belongsTo(metadata, 'shared2', settings), false);
    });
  });
});
