import assert from 'node:assert/strict';
import { parseOperatorConfig } from '../../operator/config.js';
import { planExecution } from '../../operator/plan.js';
import { desiredPod } from '../../operator/pod.js';
import { execution, policy, runtime } from './fixtures.js';

function podSpecWith(pod: Record<string, unknown>) {
  const ex = execution();
  const p = policy({ pod });
  const planned = planExecution(ex, runtime(), p);
  if (!planned.ok) throw new Error(planned.message);
  return desiredPod(ex, runtime(), planned.plan, p.pod).spec;
}

describe('pod placement (nodeSelector, tolerations)', () => {
  it('should leave both unset when the policy names no node pool', () => {
    const spec = podSpecWith({});
    assert.equal(spec?.nodeSelector, undefined);
    assert.equal(spec?.tolerations, undefined);
  });

  it('should copy the node pool labels and tolerated taints into the pod when the policy names them', () => {
    const spec = podSpecWith({
      nodeSelector: { type: 'kwok' },
      tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'fake', effect: 'NoSchedule' }],
    });
    assert.deepEqual(spec?.nodeSelector, { type: 'kwok' });
    assert.deepEqual(spec?.tolerations, [
      { key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'fake', effect: 'NoSchedule' },
    ]);
  });

  it('should name the field when a toleration is malformed', () => {
    assert.throws(
      () => parseOperatorConfig({ pod: { tolerations: [{ key: 'pool', effect: 'Sometimes' }] } }),
      /pod\.tolerations\[0\]\.effect/,
    );
    assert.throws(() => parseOperatorConfig({ pod: { nodeSelector: { pool: 3 } } }), /pod\.nodeSelector\.pool/);
  });
});
