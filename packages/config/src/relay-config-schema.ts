import {
  HMAC_SECRET,
  HMAC_SECRET_FORMAT,
  MESSAGE_KINDS,
  MESSAGE_ORIGINS,
  RELAY_EVENT_TYPES,
  SIGNING_SCHEMES,
  signingSecretProblem,
  type MessageKind,
  type MessageOrigin,
  type RelayEventType,
  type SigningScheme,
} from "@yuju-relay/protocol";
import { z } from "zod";
import { DURATION_FORMAT, parseDurationMs } from "./durations.ts";
import { lookUpSecret } from "./secret-variables.ts";

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
  /** Where the message came from (contact, hosted_account, api, automation, unknown): the loop guard. */
  origin?: MessageOrigin[];
  textMatches?: RegExp;
}

/** A destination as the worker uses it: every default applied, its secret resolved. */
export interface Destination {
  name: string;
  url: string;
  /**
   * The current signing key: `whsec_…` (hmac-sha256) or `whsk_…` (ed25519); with `resolveSecrets:
   * false`, the `${ENV_VAR}` reference as written.
   */
  secret: string;
  /** `hmac-sha256` (`v1`, the default) or `ed25519` (`v1a`). Absent: hmac-sha256. */
  signing?: SigningScheme;
  /**
   * Keys being rotated out, of the same scheme: each also signs every delivery until its `until`,
   * so that a receiver still holding it keeps verifying. Past `until` it is ignored.
   */
  previousSecrets?: PreviousSecret[];
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

export interface PreviousSecret {
  secret: string;
  until: Date;
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
export const WEBHOOK_SECRET = HMAC_SECRET;
export const WEBHOOK_SECRET_FORMAT = HMAC_SECRET_FORMAT;
const INSTANT_FORMAT = "must be an ISO 8601 time with its zone, such as 2026-12-31T00:00:00Z";

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
    origin: nonEmptyList(
      z.enum(MESSAGE_ORIGINS, {
        error: (issue) => `unknown origin ${JSON.stringify(issue.input)} (one of ${MESSAGE_ORIGINS.join(", ")})`,
      }),
    ).optional(),
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

/**
 * A `${ENV_VAR}` reference, resolved (from the variable or its `_FILE`) unless `resolveSecrets` is
 * false. Its form is checked by the destination, which knows the signing scheme.
 */
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
    const name = reference[1]!;
    if (!resolveSecrets) return { value: raw.trim(), variable: name };
    const found = lookUpSecret(env, name);
    if ("problem" in found) {
      ctx.addIssue({ code: "custom", message: found.problem });
      return z.NEVER;
    }
    if (found.value === undefined) {
      ctx.addIssue({ code: "custom", message: `environment variable ${name} is not set` });
      return z.NEVER;
    }
    // The variable's name goes along, for a message about the value's form (never the value).
    return { value: found.value, variable: name };
  });
}

/**
 * The value of one `${ENV_VAR}` reference as a signing key of `scheme` (from the variable or its
 * `_FILE`), or what is wrong with it, naming the variable, never the value. For a reader of one
 * destination's key (`relay keys public`) that need not hold the others'.
 */
export function resolveSigningSecret(
  reference: string,
  scheme: SigningScheme,
  env: Record<string, string | undefined>,
): { value: string } | { problem: string } {
  const name = SECRET_REFERENCE.exec(reference.trim())?.[1];
  if (!name) return { problem: "must be a ${ENV_VAR} reference" };
  const found = lookUpSecret(env, name);
  if ("problem" in found) return found;
  if (found.value === undefined) return { problem: `environment variable ${name} is not set` };
  const problem = signingSecretProblem(scheme, found.value);
  return problem ? { problem: `environment variable ${name} ${problem}` } : { value: found.value };
}

/** An instant: YAML gives a string (or a Date, for an unquoted timestamp under the YAML 1.1 schema). */
const instant = z.union([z.string(), z.date()], { error: required(INSTANT_FORMAT) }).transform((raw, ctx) => {
  const ms =
    raw instanceof Date
      ? raw.getTime()
      : /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(raw)
        ? Date.parse(raw)
        : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: INSTANT_FORMAT });
    return z.NEVER;
  }
  return new Date(ms);
});

function urlField({ env, resolveSecrets }: SchemaOptions) {
  return z.string({ error: required("must be an http(s) URL") }).transform((raw, ctx) => {
    // A URL may carry a credential (a token in its query): `${ENV_VAR}` works here too.
    if (!resolveSecrets) return raw;
    const values = new Map<string, string>();
    const missing: string[] = [];
    for (const name of new Set([...raw.matchAll(ANY_REFERENCE)].map((m) => m[1]!))) {
      const found = lookUpSecret(env, name);
      if ("problem" in found) {
        ctx.addIssue({ code: "custom", message: found.problem });
        return z.NEVER;
      }
      if (found.value === undefined) missing.push(name);
      else values.set(name, found.value);
    }
    if (missing.length > 0) {
      ctx.addIssue({ code: "custom", message: `environment variable ${missing.join(", ")} is not set` });
      return z.NEVER;
    }
    const url = raw.replace(ANY_REFERENCE, (_, name: string) => values.get(name) ?? "");
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
      signing: z.enum(SIGNING_SCHEMES, { error: `must be ${SIGNING_SCHEMES.join(" or ")}` }).default("hmac-sha256"),
      previousSecrets: z
        .array(z.strictObject({ secret: secretField(options), until: instant }), {
          error: "must be a list of { secret, until } (block style: a ${…} cannot stand unquoted in a flow mapping)",
        })
        .optional(),
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
      if (options.resolveSecrets) {
        // Each key must have the form of the destination's scheme; named by its variable, never shown.
        const check = ({ value, variable }: { value: string; variable: string }, path: PropertyKey[]) => {
          const problem = signingSecretProblem(d.signing, value);
          if (problem) ctx.addIssue({ code: "custom", path, message: `environment variable ${variable} ${problem}` });
        };
        check(d.secret, ["secret"]);
        d.previousSecrets?.forEach((p, i) => check(p.secret, ["previousSecrets", i, "secret"]));
      }
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
        secret: d.secret.value,
        signing: d.signing,
        previousSecrets: (d.previousSecrets ?? []).map((p) => ({ secret: p.secret.value, until: p.until })),
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
