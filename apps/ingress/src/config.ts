import { checkRedisCluster, envDurationMs, envInt, logLevelEnv, redisEnv } from "@yuju-relay/config";
import { z } from "zod";

export const ingressEnv = z
  .object({
    ...redisEnv,
    ...logLevelEnv,
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
  })
  .superRefine(checkRedisCluster);

export type IngressConfig = z.infer<typeof ingressEnv>;
