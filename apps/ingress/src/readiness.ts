import type { ReadinessCheck } from "@yuju-relay/metrics";
import { READINESS_PING_TIMEOUT_MS, redisReadiness, type RedisClient } from "@yuju-relay/queue";
import type { Spool } from "@yuju-relay/spool";

export type SpoolReadiness = {
  /**
   * empty; spooling (holds callbacks, Redis away); draining (holds callbacks, Redis back); full
   * (refusing callbacks until some are drained); failing (the disk refused the last write, and has
   * not shown room since: it ends by itself once it takes a write again, or has room again).
   */
  state: "empty" | "spooling" | "draining" | "full" | "failing";
  callbacks: number;
  bytes: number;
  maxBytes: number;
  oldestSeconds: number;
  /** Free bytes on SPOOL_DIR's file system (null when it cannot be read). */
  diskFreeBytes: number | null;
};

export type IngressReadinessDetails = {
  redis: "up" | "down";
  /** "off" without SPOOL_DIR. */
  spool: SpoolReadiness | "off";
};

export type IngressReadiness = ReadinessCheck & { details?: IngressReadinessDetails };

async function spoolReadiness(spool: Spool, redisUp: boolean): Promise<SpoolReadiness> {
  // Read first (at most once a second): a disk that has room again is no longer failing.
  const diskFreeBytes = await spool.freeBytes();
  const { records, bytes, maxBytes, full, failing } = spool.state;
  const oldest = await spool.oldestAcceptedAt();
  const state = full ? "full" : failing ? "failing" : !spool.holdsRecords ? "empty" : redisUp ? "draining" : "spooling";
  const oldestSeconds = oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  return { state, callbacks: records, bytes, maxBytes, oldestSeconds, diskFreeBytes };
}

/**
 * Ready means "a callback sent now would be acknowledged". With a spool, that holds while Redis is
 * away: taking traffic through an outage is the spool's point, so a load balancer must keep
 * sending. It stops holding when the spool is full or its disk fails while the spool is needed.
 * The PING is bounded (a frozen Redis keeps its connection open and never answers).
 */
export function createReadiness(
  connection: RedisClient,
  spool: Spool | null,
  shuttingDown: () => boolean,
): () => Promise<IngressReadiness> {
  return async () => {
    if (shuttingDown()) return { ready: false, reason: "shutting down" };
    const redisCheck = await redisReadiness(connection, READINESS_PING_TIMEOUT_MS);
    const redis = redisCheck.ready ? "up" : "down";
    if (!spool) {
      const details = { redis, spool: "off" } as const;
      return redisCheck.ready ? { ready: true, details } : { ready: false, reason: redisCheck.reason, details };
    }
    const state = await spoolReadiness(spool, redisCheck.ready);
    const details = { redis, spool: state } as const;
    const toQueue = redisCheck.ready && !spool.holdsRecords;
    const toSpool = state.state !== "full" && state.state !== "failing";
    if (toQueue || toSpool) return { ready: true, details };
    const why = redisCheck.ready ? "the spool holds callbacks, which go first" : redisCheck.reason;
    return { ready: false, reason: `${why}; and the spool is ${state.state}`, details };
  };
}

/**
 * What the public port says: the states, not the figures (callbacks and bytes spooled stay on
 * OPS_PORT, like /metrics, off the port that whoever can reach the callback URL can reach).
 */
export function publicReadinessDetails(details: IngressReadinessDetails | undefined) {
  if (!details) return {};
  return { redis: details.redis, spool: details.spool === "off" ? "off" : details.spool.state };
}
