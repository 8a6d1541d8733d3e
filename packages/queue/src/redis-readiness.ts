import { withDeadline } from "@yuju-relay/app-lifecycle";
import { isConnected, type RedisClient } from "./connections.ts";

/**
 * How long a readiness check waits for PING. Well under a probe's own timeout (Kubernetes' default
 * is 1 s), so that the probe gets an answer with a reason instead of timing out: a Redis that
 * takes half a second to answer PING is not one to send traffic to.
 */
export const READINESS_PING_TIMEOUT_MS = 500;

export type RedisReadiness = { ready: true } | { ready: false; reason: string };

/**
 * Whether Redis answers a PING within `timeoutMs`. A Redis that is frozen (SIGSTOP, a stalled
 * VM) keeps its TCP connection open and never answers: without the deadline a readiness probe
 * would hang until the prober gives up, and say nothing about why.
 */
export async function redisReadiness(connection: RedisClient, timeoutMs: number): Promise<RedisReadiness> {
  if (!isConnected(connection)) return { ready: false, reason: `redis connection is ${connection.status}` };
  const ping = connection.ping().then(
    (answer): RedisReadiness =>
      answer === "PONG" ? { ready: true } : { ready: false, reason: `redis answered PING with ${answer}` },
    (error: unknown): RedisReadiness => ({ ready: false, reason: `redis PING failed: ${(error as Error).message}` }),
  );
  return withDeadline(ping, timeoutMs, (): RedisReadiness => ({
    ready: false,
    reason: `redis did not answer PING within ${timeoutMs}ms`,
  }));
}
