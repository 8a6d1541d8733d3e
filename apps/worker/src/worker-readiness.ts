import { READINESS_PING_TIMEOUT_MS, redisReadiness, type CallbackJobData, type RedisClient } from "@yuju-relay/queue";
import type { Queue, Worker } from "bullmq";

/**
 * Readiness that proves consumption, not just a PING: "worker stops consuming after a Redis outage"
 * is BullMQ's longest-running complaint. Callbacks waiting while this process has shown no sign of
 * life for `stallAfterMs` means it is connected but not consuming. (A destination's queue may wait
 * on purpose: paused, or rate-limited.)
 */
export function createWorkerReadiness(deps: {
  /** Every partition's callbacks worker, and queue. */
  callbacks: readonly Worker[];
  workers: readonly Worker[];
  queues: ReadonlyArray<Queue<CallbackJobData>>;
  connection: RedisClient;
  stallAfterMs: number;
}) {
  const { callbacks, workers, queues, connection, stallAfterMs } = deps;
  let lastActivity = Date.now();
  const alive = () => {
    lastActivity = Date.now();
  };
  for (const worker of callbacks) {
    for (const event of ["active", "completed", "failed", "drained"] as const) worker.on(event, alive);
  }

  const waiting = async () => (await Promise.all(queues.map((q) => q.getWaitingCount()))).reduce((a, b) => a + b, 0);

  return {
    async ready(): Promise<{ ready: true } | { ready: false; reason: string }> {
      if (workers.some((w) => w.closing)) return { ready: false, reason: "worker is shutting down" };
      // A paused worker is judged by the stall check below: idle is fine, idle while jobs wait is not.
      const stopped = workers.find((w) => !w.isRunning() && !w.isPaused());
      if (stopped) return { ready: false, reason: `worker of ${stopped.name} is not running` };
      // A frozen Redis keeps the connection open: only an answer (within a deadline) proves it is there.
      const redis = await redisReadiness(connection, READINESS_PING_TIMEOUT_MS);
      if (!redis.ready) return redis;
      const quietFor = Date.now() - lastActivity;
      // Redis just answered; the ops server still bounds this read (boundedReadiness).
      if (quietFor > stallAfterMs && (await waiting()) > 0) {
        return {
          ready: false,
          reason: `jobs are waiting but this worker has taken none for ${Math.round(quietFor / 1000)}s`,
        };
      }
      return { ready: true };
    },
  };
}
