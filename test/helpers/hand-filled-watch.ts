import type { Listener, ObjectWatch } from '../../kube/watched-objects.js';

/** A watch cache a unit test fills by hand: the objects it lists are the ones the test put in. */
export class HandFilledWatch<T extends { metadata?: { namespace?: string; name?: string } }> implements ObjectWatch<T> {
  problem: string | undefined;
  objects: T[] = [];
  get(namespace: string, name: string) {
    return this.objects.find((object) => object.metadata?.namespace === namespace && object.metadata?.name === name);
  }
  list() {
    return this.objects;
  }
  subscribe(_namespace: string, _name: string, _listener: Listener<T>) {
    return () => undefined;
  }
  async stop() {}
}
