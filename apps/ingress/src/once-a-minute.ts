const MINUTE_MS = 60_000;

/**
 * Whether to log about a key (an address) now: at most once a minute per key, so that a scanner or
 * a guesser cannot fill the logs. Bounded: with `maxKeys` keys logged within the last minute,
 * further keys wait for room (the metrics still count them).
 */
export class OnceAMinute {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  first(key: string): boolean {
    const now = this.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < MINUTE_MS) return false;
    if (last === undefined && this.last.size >= this.maxKeys) {
      for (const [k, at] of this.last) if (now - at >= MINUTE_MS) this.last.delete(k);
      if (this.last.size >= this.maxKeys) return false;
    }
    this.last.set(key, now);
    return true;
  }
}
