import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Mounter } from './mounter.js';
import { mountScratch, type Scratch } from './scratch.js';

// Mounting a tmpfs costs a process spawn, about ten milliseconds on the path of every run.
// A few mounts of the most common size are made ahead of time; each is used once, by one
// execution, and never returns to the pool.

export interface ScratchPoolOptions {
  mounter: Mounter;
  dir: string;
  uid: number;
  gid: number;
  /** The size kept ready: the default disk limit, which most requests use. */
  readySizeMiB: number;
  readyCount: number;
}

export class ScratchPool {
  private readonly ready: Promise<Scratch>[] = [];
  private closed = false;

  constructor(private readonly options: ScratchPoolOptions) {
    this.refill();
  }

  async acquire(sizeMiB: number): Promise<Scratch> {
    if (sizeMiB === this.options.readySizeMiB && !this.closed) {
      const ready = this.ready.shift();
      this.refill();
      // A mount that failed in advance is retried now, where its error can be reported.
      if (ready) return ready.catch(() => this.mount(sizeMiB));
    }
    return this.mount(sizeMiB);
  }

  async close(): Promise<void> {
    this.closed = true;
    const unused = this.ready.splice(0);
    await Promise.all(unused.map((ready) => ready.then((scratch) => scratch.release()).catch(() => undefined)));
    // Closed after every execution has drained: nothing mounts or unmounts any more.
    this.options.mounter.close();
  }

  private refill(): void {
    while (!this.closed && this.ready.length < this.options.readyCount) {
      const ready = this.mount(this.options.readySizeMiB);
      ready.catch(() => undefined);
      this.ready.push(ready);
    }
  }

  private mount(sizeMiB: number): Promise<Scratch> {
    const { mounter, dir, uid, gid } = this.options;
    return mountScratch({ mounter, mountPoint: join(dir, randomBytes(8).toString('hex')), sizeMiB, uid, gid });
  }
}
