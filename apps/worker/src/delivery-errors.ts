import type { AttemptErrorClass } from "@yuju-relay/queue";
import { UnrecoverableError } from "bullmq";

/**
 * What one HTTP attempt was, as data: when it started, how long it took, the status or why there
 * was none, the Retry-After and the start of the answer. Every result and every delivery error
 * carries one, so that the attempt is recorded (event-record.ts) without reading an English message.
 */
export interface AttemptFacts {
  /** When the attempt started (ISO 8601). */
  at: string;
  durationMs: number;
  status: number | null;
  error: AttemptErrorClass | null;
  retryAfterMs: number | null;
  responseExcerpt: string | null;
  location: string | null;
}

/** A delivery error that knows its attempt. `retryAfterMs`, when set, is what the backoff honours (capped). */
export interface DeliveryFailure extends Error {
  readonly facts: AttemptFacts;
  readonly retryAfterMs?: number;
}

export function isDeliveryFailure(error: unknown): error is DeliveryFailure {
  return error instanceof Error && typeof (error as Partial<DeliveryFailure>).facts === "object";
}

/** A failure worth another attempt: the downstream is down, slow, or asked us to wait. */
export class RetryableDeliveryError extends Error implements DeliveryFailure {
  override name = "RetryableDeliveryError";
  constructor(
    message: string,
    /** The downstream's Retry-After, in ms, when it sent one: the backoff honours it (capped). */
    readonly retryAfterMs: number | undefined,
    readonly facts: AttemptFacts,
  ) {
    super(message);
  }
}

/** 429 with Retry-After: the whole destination waits, not only this job. */
export class DestinationRateLimited extends Error implements DeliveryFailure {
  override name = "DestinationRateLimited";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    readonly facts: AttemptFacts,
  ) {
    super(message);
  }
}

/** 410 Gone: the destination is paused until someone resumes it. */
export class DestinationGone extends Error implements DeliveryFailure {
  override name = "DestinationGone";
  constructor(
    message: string,
    readonly facts: AttemptFacts,
  ) {
    super(message);
  }
}

/**
 * An answer that retrying cannot change (400, 401, a redirect …), or a request that cannot be sent.
 * An UnrecoverableError, so BullMQ fails the job at once.
 */
export class DeliveryRefused extends UnrecoverableError implements DeliveryFailure {
  constructor(
    message: string,
    readonly facts: AttemptFacts,
  ) {
    super(message);
    // isFinalFailure, the metrics and the end of an ordered turn tell an unrecoverable failure by
    // its name, which BullMQ's constructor sets to the subclass's.
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

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** Why a request got no answer, from Node's error code. */
export function errorClassOf(error: unknown): AttemptErrorClass {
  const { code, name } = (error ?? {}) as { code?: string; name?: string };
  if (name === "TimeoutError") return "timeout";
  switch (code) {
    case "ECONNREFUSED":
      return "connection_refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_NODATA":
      return "dns";
    case "ECONNRESET":
    case "EPIPE":
    case "ECONNABORTED":
      return "reset";
    case "ETIMEDOUT":
      return "timeout";
  }
  if (code && TLS_CODE.test(code)) return "tls";
  if ((error as Error | undefined)?.message === "socket hang up") return "reset";
  return "other";
}
