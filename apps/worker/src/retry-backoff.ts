import { RetryableDeliveryError } from "./delivery-errors.ts";

/**
 * The worker's backoff for the "relay" backoff type: exponential from `baseMs`, with equal jitter so
 * that a burst that failed together does not retry together, capped at `maxMs`. A downstream's
 * Retry-After wins (also capped: a header cannot park a job for a day).
 */
export function relayBackoff({ baseMs, maxMs }: { baseMs: number; maxMs: number }, random = Math.random) {
  return (attemptsMade: number, _type?: string, error?: Error): number => {
    if (error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined) {
      return Math.min(error.retryAfterMs, maxMs);
    }
    const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(exponential / 2 + random() * (exponential / 2));
  };
}
