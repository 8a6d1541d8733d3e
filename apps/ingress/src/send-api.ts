import Router from "@koa/router";
import type { Logger } from "@yuju-relay/logging";
import { readSendRecord, type RedisClient, type SendAcceptance, type SendRequest } from "@yuju-relay/queue";
import Koa from "koa";
import { readCallbackBody } from "./read-callback-body.ts";
import { parseSendBody } from "./send-request.ts";

export interface SendApiDeps {
  isValidKey: (authorization: string | undefined) => boolean;
  accept: (request: SendRequest) => Promise<SendAcceptance>;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  isDraining: () => boolean;
}

const BODY_LIMIT = 64 * 1_024;

/**
 * The send API, a Koa app of its own on API_PORT: never on the callback port, which faces the
 * internet. Every route needs `Authorization: Bearer <one of RELAY_API_KEYS>`; a key is never logged.
 */
export function createSendApiApp({ isValidKey, accept, redis, prefix, logger, isDraining }: SendApiDeps): Koa {
  const app = new Koa();
  const router = new Router();

  app.use(async (ctx, next) => {
    try {
      if (!isValidKey(ctx.get("authorization") || undefined)) {
        ctx.status = 401;
        ctx.set("WWW-Authenticate", 'Bearer realm="yuju-relay"');
        ctx.body = { error: "missing or invalid API key (Authorization: Bearer <key>)" };
        return;
      }
      await next();
    } catch (error) {
      // Redis away (the producer connection fails fast) or slow: the client may retry, with its idempotency key.
      logger.error({ path: ctx.path, err: (error as Error).message }, "send API: redis unavailable");
      ctx.status = 503;
      ctx.set("Retry-After", "1");
      ctx.body = { error: "temporarily unavailable, retry (with the same idempotencyKey)" };
    }
    if (isDraining()) ctx.set("Connection", "close");
  });

  router.post("/v1/messages", async (ctx) => {
    const read = await readCallbackBody(ctx.req, BODY_LIMIT);
    if (!read.ok) {
      ctx.status = read.status;
      ctx.body = { error: read.error };
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      ctx.status = 400;
      ctx.body = { error: "the body is not JSON", field: "(body)" };
      return;
    }
    const parsed = parseSendBody(body);
    if (!parsed.ok) {
      ctx.status = 400;
      ctx.body = { error: parsed.error, field: parsed.field };
      return;
    }
    const result = await accept(parsed.request);
    switch (result.outcome) {
      case "accepted":
        logger.info(
          { sendId: result.id, chatId: parsed.request.chatId, type: parsed.request.message.type },
          "send accepted",
        );
        ctx.status = 202;
        ctx.body = { id: result.id, status: "queued" };
        return;
      case "duplicate":
        ctx.status = 202;
        ctx.body = { id: result.id, status: result.status ?? "queued" };
        return;
      case "conflict":
        ctx.status = 409;
        ctx.body = { error: "this idempotencyKey was used in the last 24 h with another body", id: result.id };
        return;
      case "no_account":
        ctx.status = 422;
        ctx.body = {
          error:
            "no botWxid given, and no callback of this chat seen yet: name the hosted account that sends (botWxid)",
          field: "botWxid",
        };
        return;
    }
  });

  router.get("/v1/messages/:id", async (ctx) => {
    const record = await readSendRecord(redis, prefix, ctx.params.id!);
    if (!record) {
      ctx.status = 404;
      ctx.body = { error: "no such send (or past its 7-day record)" };
      return;
    }
    ctx.body = {
      id: record.id,
      status: record.status,
      attempts: record.attempts,
      platformResponse: record.platformResponse,
    };
  });

  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: "not found: POST /v1/messages, GET /v1/messages/{id}" };
  });
  return app;
}
