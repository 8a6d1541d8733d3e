import { z } from "zod";
import { envDurationMs } from "./env-fields.ts";
import { readRelayConfig } from "./relay-config-file.ts";
import {
  DEFAULT_DELIVERY_ATTEMPTS,
  MAX_DELIVERY_TIMEOUT_MS,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_FORMAT,
  type Destination,
} from "./relay-config-schema.ts";

/** The variables that say where events go: the worker and the `relay` CLI read them alike. */
export const destinationEnv = {
  /** Path to the YAML file of destinations. Unset: FORWARD_URL, if set, is the one destination `default`. */
  RELAY_CONFIG: z.string().optional(),
  /**
   * Without RELAY_CONFIG: where every event is delivered, signed (Standard Webhooks), as the
   * destination named `default`. Unset too: the worker logs each event instead (for trying things out).
   */
  FORWARD_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** The signing secret of FORWARD_URL, `whsec_` + base64 (Standard Webhooks). Required with FORWARD_URL. */
  FORWARD_SECRET: z.string().regex(WEBHOOK_SECRET, WEBHOOK_SECRET_FORMAT).optional(),
  /**
   * How long one delivery may take, for every destination that sets no `timeout`. The job's lock is
   * renewed meanwhile, so this may exceed JOB_LOCK_DURATION.
   */
  FORWARD_TIMEOUT: envDurationMs({ default: "10s", min: 100 }).refine(
    (ms) => ms <= MAX_DELIVERY_TIMEOUT_MS,
    `must be at most ${MAX_DELIVERY_TIMEOUT_MS / 1000}s`,
  ),
  /** First retry delay of every destination that sets no `retry.baseDelay`; it doubles each attempt (with jitter). */
  RETRY_BASE_DELAY: envDurationMs({ default: "1s", min: 10 }),
  /** Longest wait between two attempts (and cap on a Retry-After), for destinations without `retry.maxDelay`. */
  RETRY_MAX_DELAY: envDurationMs({ default: "10m", min: 10 }),
};

type DestinationEnv = z.output<z.ZodObject<typeof destinationEnv>>;

/** Cross-field rules of destinationEnv. */
export function checkDestinationEnv(env: DestinationEnv, ctx: z.RefinementCtx): void {
  if (env.RELAY_CONFIG && env.FORWARD_URL) {
    ctx.addIssue({
      code: "custom",
      path: ["FORWARD_URL"],
      message: "must not be set with RELAY_CONFIG (declare that destination in the file)",
    });
  }
  if (env.FORWARD_URL && !env.FORWARD_SECRET) {
    ctx.addIssue({ code: "custom", path: ["FORWARD_SECRET"], message: "is required when FORWARD_URL is set" });
  }
}

/** The name FORWARD_URL's destination gets, without RELAY_CONFIG. */
export const DEFAULT_DESTINATION = "default";

/**
 * Every destination, from RELAY_CONFIG or from FORWARD_URL (as `default`); none when neither is set.
 * Throws a ConfigError naming the path in the file. `resolveSecrets: false` reads names and shapes
 * only, for a process that never signs (the dashboard).
 */
export function loadDestinations(
  config: DestinationEnv,
  {
    env = process.env,
    resolveSecrets = true,
  }: { env?: Record<string, string | undefined>; resolveSecrets?: boolean } = {},
): Destination[] {
  const defaults = {
    timeoutMs: config.FORWARD_TIMEOUT,
    attempts: DEFAULT_DELIVERY_ATTEMPTS,
    retry: { baseDelayMs: config.RETRY_BASE_DELAY, maxDelayMs: config.RETRY_MAX_DELAY },
  };
  if (config.RELAY_CONFIG) return readRelayConfig(config.RELAY_CONFIG, { env, resolveSecrets, defaults });
  if (!config.FORWARD_URL || !config.FORWARD_SECRET) return [];
  return [
    {
      name: DEFAULT_DESTINATION,
      url: config.FORWARD_URL,
      secret: config.FORWARD_SECRET,
      signing: "hmac-sha256",
      previousSecrets: [],
      events: null,
      filter: null,
      timeoutMs: defaults.timeoutMs,
      attempts: defaults.attempts,
      retry: defaults.retry,
      rateLimit: null,
      enabled: true,
      ordering: null,
    },
  ];
}

/**
 * The names of every destination (disabled ones too: their queues may still hold jobs), for a
 * process that shows queues but never delivers (the dashboard). Secrets are not needed, nor read.
 */
export function destinationNames(relayConfigPath: string | undefined): string[] {
  if (!relayConfigPath) return [DEFAULT_DESTINATION];
  const defaults = { timeoutMs: 10_000, attempts: DEFAULT_DELIVERY_ATTEMPTS, retry: { baseDelayMs: 1, maxDelayMs: 1 } };
  return readRelayConfig(relayConfigPath, { env: {}, resolveSecrets: false, defaults }).map((d) => d.name);
}
