const MINUTE_MS = 60_000;

/**
 * Per address, how many 401s it got this minute; one that reached the limit gets 429 for the rest
 * of that minute and the next one. Minutes are the clock's (fixed windows): cheap, and a guesser
 * gets at most twice the limit across a boundary, which changes nothing against a token of
 * realistic length.
 *
 * Per process, in memory, never in Redis: the check runs before every callback, and the 200 path
 * must not wait for a Redis round trip for it (nor fail when Redis is away, which the spool
 * bridges). Behind N ingress replicas an address gets up to N × the limit; that is still a few
 * hundred guesses a minute.
 */
export class AuthFailureLimit {
  private window = -1;
  /** Failures per address in the current window. */
  private failures = new Map<string, number>();
  /** Addresses refused until the end of the window stored (inclusive). */
  private blocked = new Map<string, number>();

  constructor(
    readonly limit: number,
    /** Most addresses tracked at once: an IPv6 sprayer cannot grow the maps without bound. */
    private readonly maxAddresses = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an address is refused now; seconds until it no longer is, or 0. */
  retryAfterSeconds(address: string): number {
    const now = this.now();
    this.roll(now);
    const until = this.blocked.get(address);
    if (until === undefined) return 0;
    return Math.max(1, Math.ceil(((until + 1) * MINUTE_MS - now) / 1000));
  }

  /** Counts a 401; true when this one reached the limit (the address is refused from now on). */
  recordFailure(address: string): boolean {
    const now = this.now();
    this.roll(now);
    if (!this.failures.has(address) && this.failures.size >= this.maxAddresses) return false;
    const count = (this.failures.get(address) ?? 0) + 1;
    this.failures.set(address, count);
    if (count !== this.limit) return false;
    this.blocked.set(address, this.window + 1);
    return true;
  }

  /** A new minute: last minute's counts are done with, and blocks that ended are lifted. */
  private roll(now: number): void {
    const window = Math.floor(now / MINUTE_MS);
    if (window === this.window) return;
    this.window = window;
    this.failures.clear();
    for (const [address, until] of this.blocked) if (until < window) this.blocked.delete(address);
  }
}
