/**
 * `work`, or what `onTimeout` gives (or throws) if `work` has not settled within `ms`. The timer is
 * cleared either way, so a finished race keeps no process alive. `work` itself is not cancelled:
 * callers that abandon it say what becomes of it.
 */
export function withDeadline<T, U>(work: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error as Error);
      }
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
