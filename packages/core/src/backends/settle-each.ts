/**
 * `Promise.allSettled(items.map(fn))`, with at most `limit` calls running at once. Start-up uses it
 * so that 50 stdio backends do not spawn 50 children in one turn: a spawn blocks the event loop
 * until the child exists, and children starting together make each other miss the connect timeout.
 */
export async function settleEach<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
