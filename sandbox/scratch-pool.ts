import { randomBytes } from 'node:crypto';
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import type { Mounter } from './mounter.js';
import { mountScratch, type Scratch } from './scratch.js';

// Mounting a tmpfs costs a process spawn, about ten milliseconds on the path of every run.
// A few mounts of the most common size are made ahead of time; each is used once, by one
// execution, and never returns to the pool. They are made owned by root and handed to the
// execution's own user when it takes one.

export interface ScratchPoolOptions {
  mounter: Mounter;
  dir: string;
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

  /** A scratch space of `sizeMiB` whose work/, tmp/ and shm/ belong to `uid` and `gid`. */
  async acquire(sizeMiB: number, uid: number, gid: number): Promise<Scratch> {
    let scratch: Scratch;
    const ready = sizeMiB === this.options.readySizeMiB && !this.closed ? this.ready.shift() : undefined;
    if (ready) {
      this.refill();
      // A mount that failed in advance is retried now, where its error can be reported.
      scratch = await ready.catch(() => this.mount(sizeMiB));
    } else {
      scratch = await this.mount(sizeMiB);
    }
    try {
      for (const dir of [scratch.work, scratch.tmp, scratch.shm]) chownSync(dir, uid, gid);
    } catch (error) {
      await scratch.release();
      throw error;
    }
    return scratch;
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
    const { mounter, dir } = this.options;
    return mountScratch({ mounter, mountPoint: join(dir, randomBytes(8).toString('hex')), sizeMiB, uid: 0, gid: 0 });
  }
}
