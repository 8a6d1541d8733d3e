interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: the items submitted during one turn of the event loop are committed together (one
 * write, one fsync), and so are the items that arrive while a commit is in progress, right after it.
 * A lone item waits only for the end of the current turn; under load, one fsync serves every request
 * that arrived during the previous one, so the rate is bound by the disk's fsync latency times the
 * requests in flight, not by fsyncs per second. Commits never overlap: the segment file is written
 * in order. Each item resolves once its group is durable, or rejects with the group's error.
 */
export function createGroupCommit<T>(commit: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  let waiting: Array<Waiting<T>> = [];
  let active = false;

  const run = async () => {
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        await commit(group.map((entry) => entry.item));
        for (const entry of group) entry.resolve();
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
    }
    active = false;
  };

  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!active) {
        active = true;
        setImmediate(() => void run());
      }
    });
}
