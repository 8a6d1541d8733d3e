import { UnrecoverableError } from "bullmq";

/** A failure worth another attempt: the downstream is down, slow, or asked us to wait. */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    /** The downstream's Retry-After, in ms, when it sent one: the backoff honours it (capped). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "RetryableDeliveryError";
  }
}

/** 429 with Retry-After: the whole destination waits, not only this job. */
export class DestinationRateLimited extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = "DestinationRateLimited";
  }
}

/** 410 Gone: the destination is paused until someone resumes it. */
export class DestinationGone extends Error {
  override name = "DestinationGone";
}

/**
 * A 3xx: not followed, and failed at once as a 4xx is. An UnrecoverableError (BullMQ then makes no
 * other attempt) that says where the endpoint pointed, so that the attempt can record it.
 */
export class DestinationRedirected extends UnrecoverableError {
  constructor(
    message: string,
    readonly status: number,
    /** The Location, resolved, without credentials or query; null when the answer had none. */
    readonly location: string | null,
  ) {
    super(message);
    // BullMQ and isFinalFailure recognize an unrecoverable failure by this name.
    this.name = "UnrecoverableError";
  }
}

/** Reads Retry-After: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
