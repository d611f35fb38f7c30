import assert from 'node:assert/strict';
import { NamespacedWatches } from '../../../gateway/kubernetes/namespaced-watches.js';
import type { Listener, ObjectWatch } from '../../../kube/watched-objects.js';

class OneNamespace implements ObjectWatch<string> {
  problem: string | undefined;
  stopped = false;
  readonly listeners = new Map<string, Listener<string>>();

  constructor(private readonly objects: Record<string, string>) {}

  get(_namespace: string, name: string) {
    return this.objects[name];
  }

  list() {
    return Object.values(this.objects);
  }

  subscribe(_namespace: string, name: string, listener: Listener<string>) {
    this.listeners.set(name, listener);
    return () => this.listeners.delete(name);
  }

  async stop() {
    this.stopped = true;
  }
}

describe('NamespacedWatches', () => {
  const setup = () => {
    const a = new OneNamespace({ x: 'a/x' });
    const b = new OneNamespace({ x: 'b/x', y: 'b/y' });
    return {
      a,
      b,
      watches: new NamespacedWatches(
        new Map([
          ['a', a],
          ['b', b],
        ]),
      ),
    };
  };

  it("should read from the namespace's own watch", () => {
    const { watches } = setup();

    assert.equal(watches.get('a', 'x'), 'a/x');
    assert.equal(watches.get('b', 'x'), 'b/x');
    assert.equal(watches.get('c', 'x'), undefined);
  });

  it('should list the objects of every namespace', () => {
    assert.deepEqual([...setup().watches.list()].sort(), ['a/x', 'b/x', 'b/y']);
  });

  it("should subscribe to the namespace's own watch and ignore unwatched namespaces", () => {
    const { a, b, watches } = setup();

    const unsubscribe = watches.subscribe('b', 'y', () => undefined);
    const nothing = watches.subscribe('c', 'y', () => undefined);

    assert.equal(b.listeners.has('y'), true);
    assert.equal(a.listeners.size, 0);
    unsubscribe();
    nothing();
    assert.equal(b.listeners.has('y'), false);
  });

  it('should report the first problem of any namespace and stop them all', async () => {
    const { a, b, watches } = setup();
    assert.equal(watches.problem, undefined);

    b.problem = 'the watch of b failed';
    await watches.stop();

    assert.equal(watches.problem, 'the watch of b failed');
    assert.ok(a.stopped && b.stopped);
  });
});

describe('NamespacedWatches that follow the tenants', () => {
  class Startable extends OneNamespace {
    started = false;

    async start() {
      this.started = true;
    }
  }

  it('should start watches of new namespaces and stop those no tenant has any more', async () => {
    const made = new Map<string, Startable>();
    const watches = new NamespacedWatches<string>(new Map(), (namespace) => {
      const watch = new Startable({ x: `${namespace}/x` });
      made.set(namespace, watch);
      return watch;
    });

    await watches.watchOnly(['a', 'b']);
    await watches.watchOnly(['b', 'c']);

    assert.deepEqual(watches.namespaces(), ['b', 'c']);
    assert.equal(made.get('a')?.stopped, true);
    assert.equal(made.get('b')?.stopped, false);
    assert.ok(made.get('c')?.started);
    assert.equal(watches.get('c', 'x'), 'c/x');
    assert.equal(watches.get('a', 'x'), undefined);
  });

  it("should leave a followed namespace's problem out of its own, and tell it when asked", async () => {
    const fixed = new OneNamespace({});
    const watches = new NamespacedWatches<string>(new Map([['fixed', fixed]]), () => {
      const watch = new Startable({});
      watch.problem = 'forbidden';
      return watch;
    });

    await watches.watchOnly(['followed']);

    assert.equal(watches.problem, undefined);
    assert.equal(watches.problemIn('followed'), 'forbidden');
    fixed.problem = 'the watch of fixed failed';
    assert.equal(watches.problem, 'the watch of fixed failed');
    await watches.watchOnly([]);
    assert.deepEqual(watches.namespaces(), ['fixed']);
  });
});
