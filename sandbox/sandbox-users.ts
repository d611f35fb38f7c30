// The host users programs run as: one of its own for each execution running at once. The kernel
// counts some objects per user across the whole machine (inotify instances, the bytes of POSIX
// message queues, processes under RLIMIT_NPROC); with one user for every program, one program
// holding them all would take them from every other tenant's. A user goes back to the pool only
// once its execution is torn down, when nothing it made is left: its processes died with their
// pid namespace, its queues with their IPC namespace, its files with its scratch space.

export class SandboxUsers {
  private readonly free: number[];

  /** Users `first` to `first + count - 1`, which no one else on the host may use. */
  constructor(
    readonly first: number,
    readonly count: number,
  ) {
    this.free = Array.from({ length: count }, (_, index) => first + index);
  }

  /** A user no running execution has; throws when all are taken (more running than `count`). */
  acquire(): number {
    const uid = this.free.shift();
    if (uid === undefined) throw new Error(`all ${this.count} sandbox users are taken`);
    return uid;
  }

  release(uid: number): void {
    if (uid < this.first || uid >= this.first + this.count || this.free.includes(uid)) return;
    this.free.push(uid);
  }

  /** Every user of the pool, for the sandbox's /etc/passwd. */
  all(): number[] {
    return Array.from({ length: this.count }, (_, index) => this.first + index);
  }
}
