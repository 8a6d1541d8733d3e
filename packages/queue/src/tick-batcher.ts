interface Entry<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the items submitted during one turn of the event loop and hands them to `flush`
 * together, once the turn's I/O callbacks have run (setImmediate). Under load, the requests whose
 * bodies arrived in the same poll phase then cost one Redis round trip instead of one each; a lone
 * request waits only for the end of the current turn. A batch that reaches `maxBatch` is handed over
 * at once, without waiting for the turn to end: Redis then works on it while the rest of the turn's
 * requests are still being parsed, instead of both taking turns. Each caller gets its own item's
 * result, or the batch's error: a batch succeeds or fails as a whole.
 */
export function createTickBatcher<T, R>(
  flush: (items: T[]) => Promise<R[]>,
  { maxBatch }: { maxBatch: number },
): (item: T) => Promise<R> {
  let pending: Array<Entry<T, R>> = [];
  let scheduled = false;

  const send = (batch: Array<Entry<T, R>>) => {
    flush(batch.map((entry) => entry.item)).then(
      (results) => {
        if (results.length !== batch.length) {
          const error = new Error(`batch of ${batch.length} returned ${results.length} results`);
          for (const entry of batch) entry.reject(error);
          return;
        }
        batch.forEach((entry, i) => entry.resolve(results[i]!));
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    );
  };
  const endOfTurn = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length > 0) send(batch);
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length >= maxBatch) {
        const batch = pending;
        pending = [];
        send(batch);
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(endOfTurn);
      }
    });
}
