// Values of several async sources as they come. Each source has at most one read outstanding and
// the next is asked for only after its value was taken, so a slow consumer slows every source
// down (a log stream then stops reading its socket) instead of values piling up here.

export async function* merged<T>(sources: AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const read = (index: number) => {
    const iterator = iterators[index] as AsyncIterator<T>;
    pending.set(
      index,
      iterator.next().then((result) => ({ index, result })),
    );
  };
  for (let index = 0; index < iterators.length; index += 1) read(index);
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      yield result.value;
      read(index);
    }
  } finally {
    // Not awaited: a source's return waits for its outstanding read, which its own abort ends.
    for (const [index] of pending) void iterators[index]?.return?.().catch(() => undefined);
  }
}
