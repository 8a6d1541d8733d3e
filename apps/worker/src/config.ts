import {
  checkDestinationEnv,
  checkRedisCluster,
  checkSendEnv,
  sendEnv,
  destinationEnv,
  envDurationMs,
  envInt,
  logLevelEnv,
  redisEnv,
  retentionEnv,
} from "@yuju-relay/config";
import { z } from "zod";

const workerFields = {
  ...redisEnv,
  ...logLevelEnv,
  ...destinationEnv,
  ...retentionEnv,
  ...sendEnv,
  /**
   * Path to a module (TypeScript or JavaScript) whose default export is `defineHandlers({...})`:
   * code for what the destinations' filters cannot express. Loaded at start; a module that fails
   * to load or has the wrong shape stops the worker.
   */
  HANDLERS_MODULE: z.string().optional(),
  /**
   * Jobs processed at once by this process, in each queue: the callbacks and every destination. A
   * slow destination then uses up its own slots, never another's. Deliveries wait on the network,
   * so more than the core count pays.
   */
  WORKER_CONCURRENCY: envInt({ default: 16, min: 1, max: 1_000 }),
  /**
   * How long the callback job's inline first attempt to a destination may take before the delivery
   * is handed to the destination's queue (the attempt then counts as its first, a timeout). Short:
   * a slow destination must not hold the callback job; its queue retries it with its full timeout.
   * `0` turns inline delivery off: every delivery is a job in its destination's queue (so does
   * DEDUP_WINDOW=0: see there).
   */
  INLINE_TIMEOUT: envDurationMs({ default: "1s" }),
  /**
   * How long a delivered event's id is remembered, so that the platform's redelivery of it is
   * dropped. Longer than the platform's retry horizon (minutes) with a wide margin. `0` turns
   * de-duplication off: it saves a Redis round trip per batch of jobs, and a redelivery is still
   * not delivered twice to a destination while that destination's job for the event is retained:
   * the deliveries then all go through their queues (no inline first attempt, INLINE_TIMEOUT).
   */
  DEDUP_WINDOW: envDurationMs({ default: "24h" }).refine(
    (ms) => ms === 0 || ms >= 1_000,
    "must be 0 (off) or at least 1s",
  ),
  /**
   * How long a job's lock lasts without renewal. The worker renews it every half of this while the
   * job runs, so only a dead (or frozen) worker lets it lapse; then the job runs again elsewhere,
   * after at most this plus STALLED_CHECK_INTERVAL. Short, so that a `kill -9`ed worker's events
   * come back within seconds (BullMQ's 30 s default took 30 to 60 s); long enough that an
   * event-loop pause of a few seconds (a GC, a starved CPU) does not let a live job run twice.
   */
  JOB_LOCK_DURATION: envDurationMs({ default: "5s", min: 1_000 }),
  /**
   * How often workers look for jobs whose lock lapsed and put them back in the queue. One cheap
   * script call per worker per interval (a Redis key lets only one worker do the work).
   */
  STALLED_CHECK_INTERVAL: envDurationMs({ default: "1s", min: 100 }),
  /**
   * How many times a job may lose its worker before it is failed (kept for replay, reason "job
   * stalled more than allowable limit"). High: an OOM kill or a node drain must never fail an event
   * (BullMQ's default of 1 failed a job whose worker died twice). Not unbounded: a job that itself
   * kills every worker that takes it stops after this many deaths.
   */
  MAX_STALLED_COUNT: envInt({ default: 20, min: 1, max: 1_000 }),
  /**
   * On SIGTERM: how long active jobs may take to finish. After it the worker exits anyway and its
   * unfinished jobs return to the queue when their lock expires. Keep it under the container's
   * stop grace period.
   */
  WORKER_CLOSE_TIMEOUT: envDurationMs({ default: "25s" }),
  /**
   * Port for /healthz, /readyz and /metrics (Prometheus). Unset: no such server (several workers on
   * one host would otherwise fight over one port).
   */
  OPS_PORT: z.coerce.number().int("must be a whole number").min(0).max(65_535).optional(),
  /** Interface for OPS_PORT. */
  OPS_HOST: z.string().default("0.0.0.0"),
  /** /readyz fails when jobs wait and this worker has taken none for this long. */
  STALL_AFTER: envDurationMs({ default: "60s", min: 1_000 }),
};

export const workerEnv = z.object(workerFields).superRefine((env, ctx) => {
  checkRedisCluster(env, ctx);
  checkDestinationEnv(env, ctx);
  checkSendEnv(env, ctx);
});

export type WorkerConfig = z.infer<typeof workerEnv>;
