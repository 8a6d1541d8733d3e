import Router from "@koa/router";
import type { Logger } from "@yuju-relay/logging";
import { callbackSubject } from "@yuju-relay/protocol";
import type { RefusalLog } from "@yuju-relay/queue";
import Koa from "koa";
import type { AddressAllowlist } from "./address-allowlist.ts";
import type { AuthFailureLimit } from "./auth-failure-limit.ts";
import { normalizeAddress } from "./client-address.ts";
import type { IngestOutcome } from "./ingest-callback.ts";
import { OnceAMinute } from "./once-a-minute.ts";
import { publicReadinessDetails, type IngressReadiness } from "./readiness.ts";
import { readCallbackBody } from "./read-callback-body.ts";
import { refusalRecorder } from "./refusal-recorder.ts";

export interface IngressAppDeps {
  ingest: (text: string, route: string, method: string) => Promise<IngestOutcome>;
  bodyLimit: number;
  logger: Logger;
  /**
   * A callback sent now would be acknowledged (Redis answers, or the spool takes it) and the app is
   * not shutting down; a reason when not. Bounded in time.
   */
  readiness: () => Promise<IngressReadiness>;
  /** Shutting down: every answer closes its connection. */
  isDraining: () => boolean;
  /** Counts each callback's outcome (metrics). */
  countOutcome?: (outcome: CallbackOutcome) => void;
  /** CALLBACK_ALLOWED_IPS; null: every address. */
  allowlist?: AddressAllowlist | null;
  /** AUTH_FAILURE_LIMIT's counts; null: no limit. */
  authFailures?: AuthFailureLimit | null;
  /** TRUST_PROXY_HOPS: 0 reads the socket's address and ignores X-Forwarded-For. */
  trustProxyHops?: number;
  /** Keeps a refused callback for the dashboard's /refused page; returns at once (refusal-log.ts). */
  recordRefusal?: RefusalLog["record"];
}

/** What became of a request to a callback path: the ingest's outcomes, and what the door refused. */
export type CallbackOutcome = IngestOutcome["outcome"] | "too_large" | "unreadable" | "forbidden" | "throttled";

/**
 * Paths the platform may call. `/notice` is the message callback. The member-leave page is
 * published under `/room/joined` (a copy of the join page), a later copy says `leave-group`,
 * Juzibot says `/room/left`: all are accepted, and the body, not the path, says what it is.
 */
export const CALLBACK_PATHS = ["/notice", "/room/joined", "/room/left", "/leave-group"] as const;

// How long a platform should wait before retrying a 503: Redis reconnects within a second.
const RETRY_AFTER_SECONDS = "1";

export function createIngressApp({
  ingest,
  bodyLimit,
  logger,
  readiness,
  isDraining,
  countOutcome = () => {},
  allowlist = null,
  authFailures = null,
  trustProxyHops = 0,
  recordRefusal = () => {},
}: IngressAppDeps): Koa {
  const app = new Koa();
  // With proxies in front, Koa reads ctx.ip from X-Forwarded-For, keeping only the last `hops`
  // entries (those the proxies wrote) and taking the first of them; without, the header is ignored.
  app.proxy = trustProxyHops > 0;
  app.maxIpsCount = trustProxyHops;
  const router = new Router();
  // A scanner or a token guesser must not fill the logs: one line a minute per address.
  const forbiddenLog = new OnceAMinute();
  const unauthorizedLog = new OnceAMinute();
  app.use(refusalRecorder(recordRefusal));

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      logger.error({ err: error, path: ctx.path }, "unhandled error");
      ctx.status = 500;
      ctx.body = { error: "internal error" };
    }
    // While draining, keep-alive clients would go on sending on their open connections for as long
    // as the ingress answers. Set once the answer is known (a request that began before the drain
    // gets it too): node:http then closes the socket as soon as this response is written, so no
    // client ever sees its connection cut after a 200, and the drain ends within one round trip.
    if (isDraining()) ctx.set("Connection", "close");
  });

  for (const path of CALLBACK_PATHS) {
    router.all(path, async (ctx) => {
      if (ctx.method !== "GET" && ctx.method !== "POST") {
        ctx.status = 405;
        ctx.set("Allow", "GET, POST");
        ctx.body = { error: "use GET or POST" };
        return;
      }
      const client = normalizeAddress(ctx.ip);
      const address = client?.address ?? "(unknown)";
      // Both checks come before the body is read: a refused caller costs no body and no parse.
      if (allowlist && !allowlist.allows(client)) {
        countOutcome("forbidden");
        if (forbiddenLog.first(address)) {
          logger.warn(
            { path, ip: address },
            "callback refused: address not in CALLBACK_ALLOWED_IPS (logged once a minute)",
          );
        }
        ctx.status = 403;
        // The body is never read: close rather than drain it to keep the connection.
        ctx.set("Connection", "close");
        ctx.body = { error: "address not allowed" };
        return;
      }
      const retryAfter = authFailures?.retryAfterSeconds(address) ?? 0;
      if (retryAfter > 0) {
        countOutcome("throttled");
        ctx.status = 429;
        ctx.set("Retry-After", String(retryAfter));
        ctx.set("Connection", "close");
        ctx.body = { error: "too many invalid tokens from this address" };
        return;
      }
      const read = await readCallbackBody(ctx.req, bodyLimit);
      if (read.ok) ctx.state.callbackText = read.text;
      if (!read.ok) {
        countOutcome(read.status === 413 ? "too_large" : "unreadable");
        logger.warn({ path, status: read.status, error: read.error }, "callback body refused");
        ctx.status = read.status;
        ctx.body = { error: read.error };
        return;
      }
      const result = await ingest(read.text, path, ctx.method);
      countOutcome(result.outcome);
      switch (result.outcome) {
        case "accepted":
          if (logger.isLevelEnabled("debug")) {
            logger.debug(
              { path, jobId: result.jobId, kind: result.kind, ...callbackSubject(result.kind, result.body) },
              "callback queued",
            );
          }
          ctx.status = 200;
          ctx.body = {};
          return;
        case "spooled":
          if (logger.isLevelEnabled("debug")) {
            logger.debug({ path, kind: result.kind, ...callbackSubject(result.kind, result.body) }, "callback spooled");
          }
          ctx.status = 200;
          ctx.body = {};
          return;
        case "malformed":
          logger.warn({ path, error: result.error }, "callback is not JSON");
          ctx.status = 400;
          ctx.body = { error: result.error };
          return;
        case "too_deep":
          logger.warn({ path, error: result.error }, "callback refused: nested too deep");
          ctx.status = 422;
          ctx.body = { error: result.error };
          return;
        case "unstorable":
          // The body itself cannot be stored (not Redis: its neighbours in the batch were stored).
          logger.warn({ path, error: result.error }, "callback refused: cannot be stored");
          ctx.status = 422;
          ctx.body = { error: result.error };
          return;
        case "unauthorized":
          if (authFailures?.recordFailure(address)) {
            logger.warn(
              { path, ip: address, limit: authFailures.limit },
              "address reached AUTH_FAILURE_LIMIT invalid tokens this minute: 429 until the end of the next minute",
            );
          } else if (unauthorizedLog.first(address)) {
            logger.warn({ path, ip: address }, "callback with a wrong or missing token (logged once a minute)");
          }
          ctx.status = 401;
          ctx.body = { error: "invalid token" };
          return;
        case "unavailable":
          logger.error({ path, error: result.error }, "callback not queued: redis unavailable");
          ctx.status = 503;
          ctx.set("Retry-After", RETRY_AFTER_SECONDS);
          ctx.body = { error: "temporarily unavailable, retry" };
          return;
      }
    });
  }

  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const check = await readiness();
    ctx.status = check.ready ? 200 : 503;
    const states = publicReadinessDetails(check.details);
    ctx.body = check.ready
      ? { status: "ready", ...states }
      : { status: "unavailable", reason: check.reason, ...states };
  });

  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: "not found", callbackPaths: CALLBACK_PATHS };
  });
  return app;
}
