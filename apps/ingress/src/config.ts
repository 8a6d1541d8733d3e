import {
  checkRedisCluster,
  checkSendApiEnv,
  envDurationMs,
  envInt,
  logLevelEnv,
  redisEnv,
  sendApiEnv,
} from "@yuju-relay/config";
import { z } from "zod";

export const ingressEnv = z
  .object({
    ...redisEnv,
    ...logLevelEnv,
    ...sendApiEnv,
    /** Port the callback endpoint listens on. */
    PORT: envInt({ default: 3000, min: 0, max: 65_535 }),
    /** Interface to bind; 0.0.0.0 inside containers. */
    HOST: z.string().default("0.0.0.0"),
    /**
     * The 企业级token the platform puts in every body. When set, a body whose token differs gets 401
     * and is not queued (constant-time compare). When unset every body is accepted: for local trials only.
     */
    CALLBACK_TOKEN: z.string().min(8, "must be at least 8 characters").optional(),
    /** Largest body accepted, in bytes; larger gets 413. Messages are small; 1 MB leaves room for long texts. */
    BODY_LIMIT: envInt({ default: 1_048_576, min: 1_024 }),
    /**
     * How long an enqueue may take before the callback gets 503. Well under a second: the platform is
     * said to disable a URL whose callbacks keep timing out, and it retries a 503.
     */
    ENQUEUE_TIMEOUT: envDurationMs({ default: "800ms", min: 50 }),
    /** On SIGTERM: how long in-flight requests may take to finish before connections are cut. */
    SHUTDOWN_TIMEOUT: envDurationMs({ default: "10s" }),
    /**
     * Port for /metrics (Prometheus: callbacks by outcome, queue depth and backlog age), /healthz and
     * /readyz, apart from the public callback port. Unset: no such server.
     */
    OPS_PORT: z.coerce.number().int("must be a whole number").min(0).max(65_535).optional(),
    /**
     * Where callbacks go when Redis cannot take them: a directory of this ingress's own, on a disk
     * that outlives the process (a volume in a container). Unset: no spool, and callbacks get 503
     * while Redis is away. Off unless set, because a spool on a container's throwaway layer would
     * acknowledge callbacks that the next deployment deletes.
     */
    SPOOL_DIR: z.string().optional(),
    /**
     * Most bytes the spool may hold (about 1.1 KB per ordinary callback). 1 GiB holds about three
     * hours of 100 callbacks/s. Past it, callbacks get 503 again.
     */
    SPOOL_MAX_BYTES: envInt({ default: 1_073_741_824, min: 65_536 }),
    /**
     * Most spooled callbacks moved to Redis per second once it is back, so that the backlog does not
     * take the CPU and the Redis connection from the callbacks arriving meanwhile. It must stay above
     * the normal callback rate: while the spool holds anything, new callbacks queue up behind it.
     */
    SPOOL_DRAIN_RATE: envInt({ default: 1_000, min: 1 }),
  })
  .superRefine((env, ctx) => {
    checkRedisCluster(env, ctx);
    checkSendApiEnv(env, ctx);
    if (env.API_PORT !== undefined && env.API_PORT !== 0 && env.API_PORT === env.PORT) {
      ctx.addIssue({
        code: "custom",
        path: ["API_PORT"],
        message: "must differ from PORT: the send API never faces the internet",
      });
    }
  });

export type IngressConfig = z.infer<typeof ingressEnv>;
