import { READINESS_PING_TIMEOUT_MS, redisReadiness, type CallbackJobData, type RedisClient } from "@yuju-relay/queue";
import type { Job, Queue, Worker } from "bullmq";
import { Counter, Histogram, type Registry } from "prom-client";

/** No attempt left, or a failure that retrying cannot fix: the job now waits in the failed set for a replay. */
export function isFinalFailure(job: Job, error: Error): boolean {
  return error.name === "UnrecoverableError" || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/** Time for the downstream to answer each signed delivery. Needed by the sink before the worker exists. */
export function createDeliveryMetrics(registry: Registry) {
  const deliveries = new Histogram({
    name: "yuju_delivery_duration_seconds",
    help: "Time for the downstream to answer a signed delivery, by status class",
    labelNames: ["status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (status: number, durationMs: number) =>
    deliveries.observe({ status: `${Math.floor(status / 100)}xx` }, durationMs / 1000);
}

/**
 * Readiness that proves consumption, not just a PING: "worker stops consuming after a Redis outage"
 * is BullMQ's longest-running complaint. Jobs waiting while this worker has shown no sign of life
 * for `stallAfterMs` means it is connected but not consuming.
 */
export function createWorkerHealth(deps: {
  worker: Worker;
  queue: Queue<CallbackJobData>;
  connection: RedisClient;
  registry: Registry;
  stallAfterMs: number;
}) {
  const { worker, queue, connection, registry, stallAfterMs } = deps;
  let lastActivity = Date.now();
  const alive = () => {
    lastActivity = Date.now();
  };
  for (const event of ["active", "completed", "failed", "drained"] as const) worker.on(event, alive);

  const jobs = new Counter({
    name: "yuju_jobs_processed_total",
    help: "Callback jobs finished by this worker, by outcome (handled, duplicate, retrying, failed)",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  worker.on("completed", (job) => {
    jobs.inc({
      kind: job.data.kind,
      outcome: (job.returnvalue as { outcome?: string } | undefined)?.outcome ?? "handled",
    });
  });
  worker.on("failed", (job, error) => {
    if (!job) return;
    jobs.inc({ kind: job.data.kind, outcome: isFinalFailure(job, error) ? "failed" : "retrying" });
  });

  return {
    async ready(): Promise<{ ready: true } | { ready: false; reason: string }> {
      if (worker.closing) return { ready: false, reason: "worker is shutting down" };
      // A paused worker is judged by the stall check below: idle is fine, idle while jobs wait is not.
      if (!worker.isRunning() && !worker.isPaused()) return { ready: false, reason: "worker is not running" };
      // A frozen Redis keeps the connection open: only an answer (within a deadline) proves it is there.
      const redis = await redisReadiness(connection, READINESS_PING_TIMEOUT_MS);
      if (!redis.ready) return redis;
      const quietFor = Date.now() - lastActivity;
      // Redis just answered; the ops server still bounds this read (boundedReadiness).
      if (quietFor > stallAfterMs && (await queue.getWaitingCount()) > 0) {
        return {
          ready: false,
          reason: `jobs are waiting but this worker has taken none for ${Math.round(quietFor / 1000)}s`,
        };
      }
      return { ready: true };
    },
  };
}
