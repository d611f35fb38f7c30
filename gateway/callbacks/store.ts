import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Delivery } from './delivery.js';

// Where deliveries wait until they are done, so that a restarted gateway goes on with them.

export interface DeliveryStore {
  /**
   * Records the delivery as due, resolving once it would survive a restart: true, or false when
   * it is not this process's to send (done, or held by another gateway replica).
   */
  save(delivery: Delivery): Promise<boolean>;
  remove(id: string): Promise<void>;
  /** Deliveries saved and not removed, for a gateway that starts. */
  pending(): Promise<Delivery[]>;
}

const FILE_SUFFIX = '.json';
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** One small file per pending delivery, written whole under another name and renamed into place. */
export function fileDeliveryStore(dir: string): DeliveryStore {
  const ready = mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (id: string) => {
    if (!SAFE_ID.test(id)) throw new Error(`not a delivery id: ${id}`);
    return join(dir, `${id}${FILE_SUFFIX}`);
  };
  return {
    async save(delivery) {
      await ready;
      const target = path(delivery.id);
      await writeFile(`${target}.new`, JSON.stringify(delivery), { mode: 0o600 });
      await rename(`${target}.new`, target);
      return true;
    },
    async remove(id) {
      await ready;
      await rm(path(id), { force: true });
    },
    async pending() {
      await ready;
      const names = (await readdir(dir)).filter((name) => name.endsWith(FILE_SUFFIX));
      const deliveries = await Promise.all(
        names.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as Delivery),
      );
      return deliveries;
    },
  };
}

/** Deliveries kept in this process only: for a backend without a place that outlives it. */
export function memoryDeliveryStore(): DeliveryStore {
  const deliveries = new Map<string, Delivery>();
  return {
    async save(delivery) {
      deliveries.set(delivery.id, delivery);
      return true;
    },
    async remove(id) {
      deliveries.delete(id);
    },
    async pending() {
      return [...deliveries.values()];
    },
  };
}
