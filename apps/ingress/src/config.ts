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
import { AddressAllowlist } from "./address-allowlist.ts";

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
     * The 企业级token the platform puts in every body; a comma-separated list while it is being
     * rotated (the new one and the old one). When set, a body whose token matches none gets 401 and
     * is not queued (constant-time compares, all of them). When unset every body is accepted: for
     * local trials only.
     */
    CALLBACK_TOKEN: z
      .string()
      .transform((raw, ctx) => {
        const tokens = raw.split(",").map((t) => t.trim());
        tokens.forEach((token, i) => {
          // By position, never the value.
          if (token.length < 8) {
            ctx.addIssue({
              code: "custom",
              message: `token ${i + 1} of ${tokens.length} must be at least 8 characters`,
            });
          }
        });
        return tokens;
      })
      .optional(),
    /**
     * Addresses and CIDRs (IPv4 and IPv6, comma-separated) callbacks may come from. Anything else
     * gets 403 before its body is read. Unset: every address.
     */
    CALLBACK_ALLOWED_IPS: z
      .string()
      .transform((raw, ctx) => {
        const { allowlist, problems } = AddressAllowlist.parse(raw);
        for (const problem of problems) ctx.addIssue({ code: "custom", message: problem });
        return allowlist;
      })
      .optional(),
    /**
     * Reverse proxies in front of the ingress. With N, the caller's address is the N-th entry of
     * X-Forwarded-For from the right (what the outermost of them saw); 0: the socket's address, and
     * X-Forwarded-For is ignored.
     */
    TRUST_PROXY_HOPS: envInt({ default: 0, min: 0, max: 10 }),
    /** 401s from one address within a minute after which it gets 429 for the rest of it and the next. 0: no limit. */
    AUTH_FAILURE_LIMIT: envInt({ default: 20, min: 0, max: 1_000_000 }),
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
