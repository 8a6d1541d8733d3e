import Router from "@koa/router";
import type { Logger } from "@yuju-relay/logging";
import Koa from "koa";
import type { IngestOutcome } from "./ingest-callback.ts";
import { readCallbackBody } from "./read-callback-body.ts";

export interface IngressAppDeps {
  ingest: (text: string, route: string, method: string) => Promise<IngestOutcome>;
  bodyLimit: number;
  logger: Logger;
  /** Redis answers and the app is not shutting down. */
  isReady: () => Promise<boolean>;
  /** Counts each callback's outcome (metrics). */
  countOutcome?: (outcome: IngestOutcome["outcome"] | "too_large" | "unreadable") => void;
}

/**
 * Paths the platform may call. `/notice` is the message callback. The member-leave page is
 * published under `/room/joined` (a copy of the join page), a later copy says `leave-group`,
 * Juzibot says `/room/left`: all are accepted, and the body, not the path, says what it is.
 */
export const CALLBACK_PATHS = ["/notice", "/room/joined", "/room/left", "/leave-group"] as const;

// How long a platform should wait before retrying a 503: Redis reconnects within a second.
const RETRY_AFTER_SECONDS = "1";

export function createIngressApp({ ingest, bodyLimit, logger, isReady, countOutcome = () => {} }: IngressAppDeps): Koa {
  const app = new Koa();
  const router = new Router();

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      logger.error({ err: error, path: ctx.path }, "unhandled error");
      ctx.status = 500;
      ctx.body = { error: "internal error" };
    }
  });

  for (const path of CALLBACK_PATHS) {
    router.all(path, async (ctx) => {
      if (ctx.method !== "GET" && ctx.method !== "POST") {
        ctx.status = 405;
        ctx.set("Allow", "GET, POST");
        ctx.body = { error: "use GET or POST" };
        return;
      }
      const read = await readCallbackBody(ctx.req, bodyLimit);
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
          logger.debug({ path, jobId: result.jobId, kind: result.kind }, "callback queued");
          ctx.status = 200;
          ctx.body = {};
          return;
        case "malformed":
          logger.warn({ path, error: result.error }, "callback is not JSON");
          ctx.status = 400;
          ctx.body = { error: result.error };
          return;
        case "unauthorized":
          logger.warn({ path, ip: ctx.ip }, "callback with a wrong or missing token");
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
    const ready = await isReady();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? "ready" : "unavailable" };
  });

  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: "not found", callbackPaths: CALLBACK_PATHS };
  });
  return app;
}
