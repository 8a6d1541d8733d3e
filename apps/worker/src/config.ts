import { checkRedisCluster, envDurationMs, envInt, logLevelEnv, redisEnv } from "@yuju-relay/config";
import { z } from "zod";

const workerFields = {
  ...redisEnv,
  ...logLevelEnv,
  /**
   * Where every event is delivered, signed (Standard Webhooks). Unset: the worker logs each event
   * instead, which is for trying things out.
   */
  FORWARD_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** The signing secret, `whsec_` + base64 (Standard Webhooks). Required with FORWARD_URL. */
  FORWARD_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, "must be whsec_ followed by a base64 secret of 12 bytes or more")
    .optional(),
  /** How long one delivery may take. The job's lock is renewed meanwhile, so this may exceed JOB_LOCK_DURATION. */
  FORWARD_TIMEOUT: envDurationMs({ default: "10s", min: 100 }),
  /** Jobs processed at once by this process. Deliveries wait on the network, so more than the core count pays. */
  WORKER_CONCURRENCY: envInt({ default: 16, min: 1, max: 1_000 }),
  /**
   * How long a delivered event's id is remembered, so that the platform's redelivery of it is
   * dropped. Longer than the platform's retry horizon (minutes) with a wide margin. `0` turns
   * de-duplication off (redeliveries are delivered again, with the same webhook-id, for receivers
   * that de-duplicate themselves): it saves a Redis round trip per batch of jobs.
   */
  DEDUP_WINDOW: envDurationMs({ default: "24h" }).refine(
    (ms) => ms === 0 || ms >= 1_000,
    "must be 0 (off) or at least 1s",
  ),
  /** First retry delay; it doubles each attempt (with jitter), up to RETRY_MAX_DELAY. */
  RETRY_BASE_DELAY: envDurationMs({ default: "1s", min: 10 }),
  /** Longest wait between two attempts, also the cap on a downstream's Retry-After. */
  RETRY_MAX_DELAY: envDurationMs({ default: "10m", min: 10 }),
  /** Completed jobs kept for inspection: at most this old (seconds) ... */
  KEEP_COMPLETED_AGE: envDurationMs({ default: "24h" }),
  /** ... and at most this many. */
  KEEP_COMPLETED_COUNT: envInt({ default: 10_000 }),
  /** Failed jobs are the ones to replay: kept far longer than completed ones. */
  KEEP_FAILED_AGE: envDurationMs({ default: "14d" }),
  KEEP_FAILED_COUNT: envInt({ default: 50_000 }),
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
  if (env.FORWARD_URL && !env.FORWARD_SECRET) {
    ctx.addIssue({ code: "custom", path: ["FORWARD_SECRET"], message: "is required when FORWARD_URL is set" });
  }
});

export type WorkerConfig = z.infer<typeof workerEnv>;
