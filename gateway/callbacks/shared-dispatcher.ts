import { CallbackDispatcher, type CallbackDispatcherOptions } from './dispatcher.js';
import type { DeliveryStore } from './store.js';

// One dispatcher per delivery store: gateways that share a backend in one process (tests, or an
// app built twice) must not each send the same stored delivery. The last gateway to close it
// stops it.

const shared = new WeakMap<DeliveryStore, { dispatcher: CallbackDispatcher; users: number }>();

export interface SharedDispatcher {
  dispatcher: CallbackDispatcher;
  release(): void;
}

export function sharedDispatcher(
  options: CallbackDispatcherOptions,
  onFirst: (d: CallbackDispatcher) => void,
): SharedDispatcher {
  let entry = shared.get(options.store);
  if (!entry) {
    entry = { dispatcher: new CallbackDispatcher(options), users: 0 };
    shared.set(options.store, entry);
    onFirst(entry.dispatcher);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    dispatcher: held.dispatcher,
    release: () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      held.dispatcher.close();
      shared.delete(options.store);
    },
  };
}
