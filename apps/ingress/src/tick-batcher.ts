/**
 * Collects the items submitted during one turn of the event loop and hands them to `flush`
 * together, once the turn's I/O callbacks have run (setImmediate). Under load, the requests whose
 * bodies arrived in the same poll phase then cost one Redis round trip instead of one each; a lone
 * request waits only for the end of the current turn. Each caller gets its own item's result, or
 * the batch's error: a batch succeeds or fails as a whole.
 */
export function createTickBatcher<T, R>(
  flush: (items: T[]) => Promise<R[]>,
  { maxBatch }: { maxBatch: number },
): (item: T) => Promise<R> {
  let pending: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];

  const run = () => {
    const batch = pending;
    pending = [];
    for (let start = 0; start < batch.length; start += maxBatch) {
      const slice = batch.slice(start, start + maxBatch);
      flush(slice.map((entry) => entry.item)).then(
        (results) => {
          if (results.length !== slice.length) {
            const error = new Error(`batch of ${slice.length} returned ${results.length} results`);
            for (const entry of slice) entry.reject(error);
            return;
          }
          slice.forEach((entry, i) => entry.resolve(results[i]!));
        },
        (error: unknown) => {
          for (const entry of slice) entry.reject(error);
        },
      );
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (pending.length === 0) setImmediate(run);
      pending.push({ item, resolve, reject });
    });
}
