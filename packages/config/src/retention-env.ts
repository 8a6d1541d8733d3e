import { envDurationMs, envInt } from "./env-fields.ts";

/**
 * How long finished jobs stay in Redis: the worker applies it, and the `relay` CLI says it when an
 * id is past it. Failed jobs are the ones to replay, kept far longer than completed ones.
 */
export const retentionEnv = {
  /** Completed jobs kept for inspection: at most this old ... */
  KEEP_COMPLETED_AGE: envDurationMs({ default: "24h" }),
  /** ... and at most this many (in each queue). */
  KEEP_COMPLETED_COUNT: envInt({ default: 10_000 }),
  /** Failed jobs are the ones to replay: kept far longer than completed ones. */
  KEEP_FAILED_AGE: envDurationMs({ default: "14d" }),
  KEEP_FAILED_COUNT: envInt({ default: 50_000 }),
};
