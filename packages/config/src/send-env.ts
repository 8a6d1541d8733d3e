import { z } from "zod";
import { envDurationMs, envInt } from "./env-fields.ts";
import { parseDurationMs } from "./durations.ts";

/** Most calls in any window of `windowMs`, wherever it starts; null: no limit (`off`). */
export interface SlidingLimit {
  max: number;
  windowMs: number;
}

const RATE_FORMAT = "must be <calls>/<duration>, such as 500/30s, or off";

/** `500/30s`: at most 500 calls in any 30 s. `off`: no limit (benchmarks, a platform without a quota). */
export const envSlidingLimit = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((raw, ctx): SlidingLimit | null => {
      if (raw.trim() === "off") return null;
      const match = /^(\d+)\s*\/\s*(.+)$/.exec(raw.trim());
      const windowMs = match ? parseDurationMs(match[2]!) : null;
      const max = match ? Number(match[1]) : 0;
      if (!match || windowMs === null || windowMs < 1 || max < 1) {
        ctx.addIssue({ code: "custom", message: RATE_FORMAT });
        return z.NEVER;
      }
      return { max, windowMs };
    });

/**
 * A secret from the environment. Its value is never echoed by an error (parseEnv names the variable
 * only) and never logged (the worker and ingress log that it is set, never what it is).
 */
export const envSecret = (minLength: number) =>
  z.string().min(minLength, `must be at least ${minLength} characters`).optional();

/** The worker's side of sending: where the platform is, its key, and the pacing that keeps accounts safe. */
export const sendEnv = {
  /**
   * The platform's API base, such as https://api.example.com (the path /v1/api/ai/marketing/send/message
   * is added). Unset: this worker sends nothing (sends wait in the `sends` queue).
   */
  PLATFORM_API_URL: z
    .string()
    .refine((v) => /^https?:\/\/[^?#]+$/.test(v), "must be an http(s) URL without a query")
    .optional(),
  /** The platform's API key (a secret: never logged, never in a job, an error or Redis). Required with PLATFORM_API_URL. */
  PLATFORM_API_KEY: envSecret(8),
  /** Most platform calls per key in any window: a sliding window, across every worker. `off`: none. */
  SEND_RATE_LIMIT: envSlidingLimit("500/30s"),
  /** Least time between two sends of one hosted account, with 0 to +60 % jitter above it. 0: none. */
  SEND_ACCOUNT_INTERVAL: envDurationMs({ default: "1s" }),
  /** How long one platform call may take before it counts as a timeout (retried). */
  SEND_TIMEOUT: envDurationMs({ default: "10s", min: 100 }),
  /** While the quota is spent (402), one held send is tried this often: its success resumes every send. */
  SEND_PROBE_INTERVAL: envDurationMs({ default: "5m", min: 100 }),
  /** Sends a worker process runs at once (most of them wait on pacing, not on the network). */
  SEND_CONCURRENCY: envInt({ default: 16, min: 1, max: 1_000 }),
};

export function checkSendEnv(env: { PLATFORM_API_URL?: string; PLATFORM_API_KEY?: string }, ctx: z.RefinementCtx) {
  if (env.PLATFORM_API_URL && !env.PLATFORM_API_KEY) {
    ctx.addIssue({ code: "custom", path: ["PLATFORM_API_KEY"], message: "is required when PLATFORM_API_URL is set" });
  }
}

/** The ingress's send API. */
export const sendApiEnv = {
  /** Port of the send API (POST /v1/messages). Unset: off. Never the callback port: it must not face the internet. */
  API_PORT: z.coerce.number().int("must be a whole number").min(0).max(65_535).optional(),
  /** Interface of the send API: loopback unless a private network needs it. */
  API_HOST: z.string().default("127.0.0.1"),
  /** Bearer keys of the send API, comma-separated (two during a rotation). Secrets: never logged. */
  RELAY_API_KEYS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((keys) => keys.every((k) => k.length >= 16), "every key must be at least 16 characters"),
};

export function checkSendApiEnv(env: { API_PORT?: number; RELAY_API_KEYS: string[] }, ctx: z.RefinementCtx) {
  if (env.API_PORT !== undefined && env.RELAY_API_KEYS.length === 0) {
    ctx.addIssue({ code: "custom", path: ["RELAY_API_KEYS"], message: "is required when API_PORT is set" });
  }
}
