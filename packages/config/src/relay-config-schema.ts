import { MESSAGE_KINDS, RELAY_EVENT_TYPES, type MessageKind, type RelayEventType } from "@yuju-relay/protocol";
import { z } from "zod";
import { DURATION_FORMAT, parseDurationMs } from "./durations.ts";

/**
 * The RELAY_CONFIG file: where each event goes. Every object is strict (an unknown key is an error:
 * a typo must never widen or narrow a filter silently), and secrets are `${ENV_VAR}` references,
 * resolved when the file is loaded: the file itself never holds one.
 */

/** A destination's filter, once read. Every condition present must hold; each list means "any of". */
export interface DestinationFilter {
  kinds?: MessageKind[];
  isSelf?: boolean;
  isGroup?: boolean;
  mentionSelf?: boolean;
  chatIds?: string[];
  roomIds?: string[];
  botIds?: string[];
  sources?: number[];
  textMatches?: RegExp;
}

/** A destination as the worker uses it: every default applied, its secret resolved. */
export interface Destination {
  name: string;
  url: string;
  /** `whsec_…`; with `resolveSecrets: false`, the `${ENV_VAR}` reference as written. */
  secret: string;
  /** Event types it wants; null: all. */
  events: RelayEventType[] | null;
  filter: DestinationFilter | null;
  timeoutMs: number;
  attempts: number;
  retry: { baseDelayMs: number; maxDelayMs: number };
  /** Most deliveries per second, across every worker; null: no limit. */
  rateLimit: number | null;
  enabled: boolean;
  /** `ordering: per-conversation`: one event of a conversation at a time, in acceptance order. Null: any order. */
  ordering?: DestinationOrdering | null;
}

/**
 * What happens to a conversation when one of its deliveries fails for good:
 *   skip   the next event goes; the failed one stays failed, for a replay (which is then out of order)
 *   block  the conversation waits until the failed delivery is retried (dashboard) and succeeds
 */
export type OrderedFailurePolicy = "skip" | "block";

export interface DestinationOrdering {
  by: "conversation";
  onFailure: OrderedFailurePolicy;
}

/** What a destination that does not say gets (from the worker's environment). */
export interface DestinationDefaults {
  timeoutMs: number;
  attempts: number;
  retry: { baseDelayMs: number; maxDelayMs: number };
}

export const DEFAULT_DELIVERY_ATTEMPTS = 15;
/** An endpoint that takes longer than this to answer is down, not slow: past it, a retry is the better bet. */
export const MAX_DELIVERY_TIMEOUT_MS = 120_000;

export const DESTINATION_NAME = /^[a-z0-9-]{1,64}$/;
const SECRET_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const ANY_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
export const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;
export const WEBHOOK_SECRET_FORMAT = "must be whsec_ followed by a base64 secret of 12 bytes or more";

const messageKinds = [...new Set(Object.values(MESSAGE_KINDS))] as [MessageKind, ...MessageKind[]];

export interface SchemaOptions {
  env: Record<string, string | undefined>;
  /** false: check the references' form only (the dashboard, `relay config check --no-env`). */
  resolveSecrets: boolean;
  defaults: DestinationDefaults;
}

/** zod's message for a wrong type, or "is required" when the key is missing. */
const required = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? "is required" : message;

const duration = (min: number, max: number) =>
  z.union([z.string(), z.number()], { error: DURATION_FORMAT }).transform((raw, ctx) => {
    const ms = parseDurationMs(raw);
    if (ms === null) ctx.addIssue({ code: "custom", message: DURATION_FORMAT });
    else if (ms < min || ms > max) ctx.addIssue({ code: "custom", message: `must be between ${min}ms and ${max}ms` });
    return ms ?? 0;
  });

const nonEmptyList = <T extends z.ZodType>(item: T) =>
  z.array(item).min(1, "an empty list matches nothing: remove the key to match every value");

const idList = () => nonEmptyList(z.string({ error: "must be a string (quote ids in YAML: '7881300555512345')" }));

const filterSchema = z
  .strictObject({
    kinds: nonEmptyList(
      z.enum(messageKinds, { error: (issue) => `unknown kind ${JSON.stringify(issue.input)}` }),
    ).optional(),
    isSelf: z.boolean({ error: "must be true or false" }).optional(),
    isGroup: z.boolean({ error: "must be true or false" }).optional(),
    mentionSelf: z.boolean({ error: "must be true or false" }).optional(),
    chatIds: idList().optional(),
    roomIds: idList().optional(),
    botIds: idList().optional(),
    sources: nonEmptyList(z.int({ error: "must be a whole number" })).optional(),
    textMatches: z
      .string({ error: "must be a regular expression, as a string" })
      .transform((source, ctx) => {
        // `/pattern/flags` for flags (`/refund/i`); anything else is the pattern itself.
        const literal = /^\/(.*)\/([dgimsuvy]*)$/s.exec(source);
        try {
          return literal ? new RegExp(literal[1]!, literal[2]!.replace(/[gy]/g, "")) : new RegExp(source);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: `not a regular expression: ${(error as Error).message}` });
          return z.NEVER;
        }
      })
      .optional(),
  })
  .transform((filter): DestinationFilter => {
    const defined = Object.entries(filter).filter(([, value]) => value !== undefined);
    return Object.fromEntries(defined) as DestinationFilter;
  });

function secretField({ env, resolveSecrets }: SchemaOptions) {
  return z.string({ error: required("must be a ${ENV_VAR} reference") }).transform((raw, ctx) => {
    const reference = SECRET_REFERENCE.exec(raw.trim());
    if (!reference) {
      // Never echo it: it may be the secret itself.
      ctx.addIssue({
        code: "custom",
        message: "must be a ${ENV_VAR} reference such as ${CRM_WEBHOOK_SECRET}: the file never holds a secret",
      });
      return z.NEVER;
    }
    if (!resolveSecrets) return raw.trim();
    const name = reference[1]!;
    const value = env[name];
    if (value === undefined || value === "") {
      ctx.addIssue({ code: "custom", message: `environment variable ${name} is not set` });
      return z.NEVER;
    }
    if (!WEBHOOK_SECRET.test(value)) {
      ctx.addIssue({ code: "custom", message: `environment variable ${name} ${WEBHOOK_SECRET_FORMAT}` });
      return z.NEVER;
    }
    return value;
  });
}

function urlField({ env, resolveSecrets }: SchemaOptions) {
  return z.string({ error: required("must be an http(s) URL") }).transform((raw, ctx) => {
    // A URL may carry a credential (a token in its query): `${ENV_VAR}` works here too.
    const missing = [...raw.matchAll(ANY_REFERENCE)].map((m) => m[1]!).filter((name) => !env[name]);
    if (!resolveSecrets) return raw;
    if (missing.length > 0) {
      ctx.addIssue({ code: "custom", message: `environment variable ${missing.join(", ")} is not set` });
      return z.NEVER;
    }
    const url = raw.replace(ANY_REFERENCE, (_, name: string) => env[name] ?? "");
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // the issue below
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL" });
      return z.NEVER;
    }
    return url;
  });
}

export function relayConfigSchema(options: SchemaOptions) {
  const { defaults } = options;
  const destination = z
    .strictObject({
      name: z
        .string({ error: required("must be a string") })
        .regex(DESTINATION_NAME, "must be made of a-z, 0-9 and - (64 at most)"),
      url: urlField(options),
      secret: secretField(options),
      events: nonEmptyList(
        z.enum(RELAY_EVENT_TYPES, { error: (issue) => `unknown event type ${JSON.stringify(issue.input)}` }),
      ).optional(),
      filter: filterSchema.optional(),
      timeout: duration(100, MAX_DELIVERY_TIMEOUT_MS).optional(),
      attempts: z.int({ error: "must be a whole number" }).min(1).max(100).optional(),
      retry: z
        .strictObject({ baseDelay: duration(10, 86_400_000).optional(), maxDelay: duration(10, 86_400_000).optional() })
        .optional(),
      rateLimit: z.int({ error: "must be a whole number of deliveries per second" }).min(1).max(100_000).optional(),
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      ordering: z.enum(["per-conversation", "none"], { error: 'must be "per-conversation" or "none"' }).default("none"),
      onFailure: z.enum(["skip", "block"], { error: 'must be "skip" or "block"' }).optional(),
    })
    .transform((d, ctx): Destination => {
      const retry = {
        baseDelayMs: d.retry?.baseDelay ?? defaults.retry.baseDelayMs,
        maxDelayMs: d.retry?.maxDelay ?? defaults.retry.maxDelayMs,
      };
      if (retry.baseDelayMs > retry.maxDelayMs) {
        ctx.addIssue({ code: "custom", path: ["retry"], message: "baseDelay must not be longer than maxDelay" });
      }
      if (d.onFailure !== undefined && d.ordering !== "per-conversation") {
        // Silently ignoring it would let a reader believe the destination is ordered.
        ctx.addIssue({ code: "custom", path: ["onFailure"], message: "applies only with ordering: per-conversation" });
      }
      return {
        name: d.name,
        url: d.url,
        secret: d.secret,
        events: d.events ?? null,
        filter: d.filter && Object.keys(d.filter).length > 0 ? d.filter : null,
        timeoutMs: d.timeout ?? defaults.timeoutMs,
        attempts: d.attempts ?? defaults.attempts,
        retry,
        rateLimit: d.rateLimit ?? null,
        enabled: d.enabled,
        ordering: d.ordering === "per-conversation" ? { by: "conversation", onFailure: d.onFailure ?? "skip" } : null,
      };
    });
  return z
    .strictObject({
      destinations: z
        .array(destination, { error: "is required: a list of destinations" })
        .min(1, "needs at least one destination"),
    })
    .superRefine(({ destinations }, ctx) => {
      destinations.forEach((d, i) => {
        const first = destinations.findIndex((other) => other.name === d.name);
        if (first !== i) {
          ctx.addIssue({
            code: "custom",
            path: ["destinations", i, "name"],
            message: `duplicate name "${d.name}" (also destinations[${first}])`,
          });
        }
      });
    });
}
