/**
 * The one concurrency limiter: a counting semaphore. `limiter(n)` gives a function that runs at
 * most n of its calls at once; each call gets a lane number < n that no other running call has
 * (the coprocessor uses it to pick one of its connections to a node).
 */
export type Limited = <T>(run: (lane: number) => Promise<T>) => Promise<T>;

export function limiter(limit: number): Limited {
  const freeLanes = Array.from({ length: limit }, (_, i) => limit - 1 - i);
  const waiting: Array<(lane: number) => void> = [];
  return async (run) => {
    // A finishing call hands its lane straight to the first waiter, so a call arriving meanwhile cannot take it.
    const lane = freeLanes.length > 0 ? freeLanes.pop()! : await new Promise<number>((resolve) => waiting.push(resolve));
    try {
      return await run(lane);
    } finally {
      const next = waiting.shift();
      if (next) next(lane);
      else freeLanes.push(lane);
    }
  };
}

/** `step` over every item, at most `concurrency` at once; the results in item order, whatever order they finish in. */
export function mapLimited<I, T>(items: readonly I[], concurrency: number, step: (item: I) => Promise<T>): Promise<T[]> {
  const limit = limiter(Math.max(1, concurrency));
  return Promise.all(items.map((item) => limit(() => step(item))));
}
