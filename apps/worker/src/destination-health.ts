/**
 * Whether a destination is healthy enough for the callback job to try it inline: a small circuit
 * breaker per destination, in this process (no Redis round trip).
 *   closed     inline attempts go ahead; `failuresToOpen` consecutive inline failures (a timeout,
 *              no connection, 408 or 5xx) open it
 *   open       every delivery goes to the destination's queue, for `coolDownMs`
 *   half-open  one inline attempt at a time (a probe): success closes it, failure opens it again
 * A refusal (400, 401 …) is the event's fault, not the destination's health; 429 and 410 have their
 * own answers (rate limit, pause) and do not count either.
 *
 * Besides, once `maxStuck` inline attempts have been in flight longer than `stuckAfterMs` (half the
 * callback slots; a tenth of INLINE_TIMEOUT), no more start until they end: a destination that
 * starts to hang holds that many slots until INLINE_TIMEOUT, not all of them, while the breaker
 * learns. Attempts that answer in time are never capped: under a backlog every slot may be in an
 * inline attempt to a healthy destination.
 */
export class DestinationHealth {
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  /** When each inline attempt in flight started, oldest first. */
  private readonly inFlight: number[] = [];

  constructor(
    private readonly failuresToOpen: number,
    private readonly coolDownMs: number,
    private readonly stuck: { max: number; afterMs: number } = { max: Infinity, afterMs: 0 },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes a slot for an inline attempt, or says no; every taken slot is given back by `succeeded`,
   * `failed` or `neutral`.
   */
  tryInline(): boolean {
    const now = this.now();
    if (this.inFlight.length >= this.stuck.max && this.stuckCount(now) >= this.stuck.max) return false;
    if (this.failures >= this.failuresToOpen) {
      if (now < this.openUntil || this.probing) return false;
      this.probing = true;
    }
    this.inFlight.push(now);
    return true;
  }

  private stuckCount(now: number): number {
    let stuck = 0;
    // Oldest first: stop at the first that is not stuck yet.
    for (const started of this.inFlight) {
      if (now - started < this.stuck.afterMs) break;
      stuck++;
    }
    return stuck;
  }

  succeeded(): void {
    this.failures = 0;
    this.release();
  }

  failed(): void {
    this.failures++;
    this.release();
    if (this.failures >= this.failuresToOpen) this.openUntil = this.now() + this.coolDownMs;
  }

  /** An attempt that says nothing of the destination's health (a refusal, 429, 410), or one not made. */
  neutral(): void {
    this.release();
  }

  // Attempts end in any order; dropping the oldest start keeps the count right and errs towards
  // fewer stuck ones.
  private release(): void {
    this.probing = false;
    this.inFlight.shift();
  }

  get state(): "closed" | "open" | "half-open" {
    if (this.failures < this.failuresToOpen) return "closed";
    return this.now() < this.openUntil ? "open" : "half-open";
  }
}
/**
 * When a destination stops getting inline first attempts (destination-health.ts): after this many
 * consecutive inline failures or timeouts, for this long, then one probe at a time. Three: one
 * failure is noise, three in a row at any real rate is a destination in trouble. Ten seconds: at a
 * thousand events a second, a destination that still hangs costs one INLINE_TIMEOUT-long probe per
 * ten seconds, and one that recovered gets inline attempts back within ten seconds.
 */
export const INLINE_BREAKER = { failuresToOpen: 3, coolDownMs: 10_000 } as const;
