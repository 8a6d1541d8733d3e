import { z } from "zod";
import { DURATION_FORMAT, parseDurationMs } from "./durations.ts";

/** A whole number from the environment, within bounds. */
export const envInt = (opts: { default: number; min?: number; max?: number }) =>
  z.coerce
    .number()
    .int("must be a whole number")
    .min(opts.min ?? 0)
    .max(opts.max ?? Number.MAX_SAFE_INTEGER)
    .default(opts.default);

/** A duration in milliseconds: a whole number, or a number with a unit (`500ms`, `30s`, `15m`, `24h`, `7d`). */
export const envDurationMs = (opts: { default: string; min?: number }) =>
  z
    .string()
    .default(opts.default)
    .transform((raw, ctx) => {
      const ms = parseDurationMs(raw);
      if (ms === null) {
        ctx.addIssue({ code: "custom", message: DURATION_FORMAT });
        return z.NEVER;
      }
      if (ms < (opts.min ?? 0)) {
        ctx.addIssue({ code: "custom", message: `must be at least ${opts.min}ms` });
        return z.NEVER;
      }
      return ms;
    });

export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], "must be true or false")
    .default(defaultValue ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");

export const logLevelEnv = {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

export const redisEnv = {
  /** Where the queues live. redis:// or rediss:// (TLS). Every app must point at the same Redis. */
  REDIS_URL: z
    .string()
    .default("redis://127.0.0.1:6379")
    .refine((v) => /^rediss?:\/\//.test(v), "must start with redis:// or rediss://"),
  /**
   * Prefix of every Redis key. On Redis Cluster with one partition, wrap it in braces (`{yuju}`)
   * so that all of a queue's keys hash to one slot: BullMQ's Lua scripts touch several keys at
   * once. With several partitions, each partition's keys carry their own tag instead.
   */
  QUEUE_PREFIX: z
    .string()
    .default("yuju")
    .refine((v) => !v.includes(":"), "must not contain ':' (BullMQ uses it as a separator)"),
  /**
   * true: REDIS_URL names nodes of a Redis Cluster (one is enough, a comma-separated list is
   * safer), and QUEUE_PREFIX must be hash-tagged.
   */
  REDIS_CLUSTER: envBoolean(false),
  /**
   * How many partitions the callbacks, the destinations' queues and every per-conversation key
   * are spread over (by chat or room). 1 is one Redis's layout; on a Redis Cluster, at least the
   * number of masters. Stored in Redis: every app must use the same count.
   */
  CALLBACK_PARTITIONS: envInt({ default: 1, min: 1, max: 256 }),
};

/**
 * Cross-field rule for redisEnv: on a Cluster, the keys a script touches together must hash to one
 * slot. One partition: the prefix's tag does it. Several: each partition's tag does it, and a tag
 * in the prefix would pull every partition back into one slot.
 */
export function checkRedisCluster(
  env: { REDIS_CLUSTER: boolean; QUEUE_PREFIX: string; CALLBACK_PARTITIONS?: number },
  ctx: z.RefinementCtx,
): void {
  if ((env.CALLBACK_PARTITIONS ?? 1) > 1) {
    if (/[{}]/.test(env.QUEUE_PREFIX)) {
      ctx.addIssue({
        code: "custom",
        path: ["QUEUE_PREFIX"],
        message:
          "must not contain { or } when CALLBACK_PARTITIONS is above 1 (each partition has its own hash tag; a tagged prefix would put every partition in one slot): use yuju, not {yuju}",
      });
    }
    return;
  }
  if (env.REDIS_CLUSTER && !/^\{[^{}]+\}$/.test(env.QUEUE_PREFIX)) {
    ctx.addIssue({
      code: "custom",
      path: ["QUEUE_PREFIX"],
      message:
        "must be hash-tagged, such as {yuju}, when REDIS_CLUSTER is true and CALLBACK_PARTITIONS is 1 (BullMQ's scripts touch several keys at once)",
    });
  }
}
