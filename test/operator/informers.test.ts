import assert from 'node:assert/strict';
import { withoutManagedFields } from '../../operator/informers.js';
import { execution } from './fixtures.js';

describe('withoutManagedFields', () => {
  it('should drop managedFields and keep the rest of the object when the cache takes it', () => {
    const original = execution();
    original.metadata.managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsV1: {} }];
    const slim = withoutManagedFields(original);
    assert.equal('managedFields' in slim.metadata, false);
    const { managedFields: _dropped, ...rest } = original.metadata;
    assert.deepEqual(slim, { ...original, metadata: rest });
    assert.ok(original.metadata.managedFields, 'the object handed over is left as it was');
  });

  it('should hand back the same object when there is nothing to drop', () => {
    const plain = execution();
    assert.equal(withoutManagedFields(plain), plain);
  });
});
