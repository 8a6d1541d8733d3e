import Router from "@koa/router";
import {
  conversationEvents,
  conversationSends,
  readEvent,
  replayEvent,
  searchEvents,
  type EventSources,
  type FailedDeliveryFilter,
} from "@yuju-relay/inspector";
import { readRefusals } from "@yuju-relay/queue";
import auth from "basic-auth";
import type { Context } from "koa";
import getRawBody from "raw-body";
import type { BulkReplays } from "./bulk-replays.ts";
import { filterOfQuery, limitOfQuery, one } from "./event-filter-query.ts";

const DEFAULT_LIMIT = 50;

/** Who pressed the button, for the job's log: the Basic auth user. */
export function dashboardUser(ctx: Context): string {
  return `dashboard user ${auth(ctx.req)?.name ?? "?"}`;
}

async function jsonBody(ctx: Context): Promise<Record<string, unknown> | null> {
  try {
    const text = await getRawBody(ctx.req, { limit: "16kb", encoding: "utf8" });
    const value: unknown = text.trim() ? JSON.parse(text) : {};
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function badRequest(ctx: Context, error: string) {
  ctx.status = 400;
  ctx.body = { error };
}

/** The failed deliveries a bulk replay takes, from the same parameters as a search. */
export function failedFilterOf(query: Record<string, unknown>): { filter: FailedDeliveryFilter } | { error: string } {
  const parsed = filterOfQuery(
    Object.fromEntries(Object.entries(query).map(([k, v]) => [k, typeof v === "string" ? v : undefined])),
  );
  if ("error" in parsed) return parsed;
  const { q, destination, type, since, until } = parsed.filter;
  return { filter: { q, destination, type, since, until } };
}

/** `/api/…`: what the pages use, and scripts may (same login). */
export function inspectorApi(sources: EventSources, bulk: BulkReplays): Router {
  const router = new Router({ prefix: "/api" });

  router.get("/events", async (ctx) => {
    const parsed = filterOfQuery(ctx.query);
    if ("error" in parsed) return badRequest(ctx, parsed.error);
    try {
      ctx.body = await searchEvents(sources, parsed.filter, {
        limit: limitOfQuery(ctx.query, DEFAULT_LIMIT),
        cursor: one(ctx.query, "cursor"),
      });
    } catch (error) {
      if (error instanceof RangeError) return badRequest(ctx, `cursor: ${error.message}`);
      throw error;
    }
  });

  router.get("/events/:eventId", async (ctx) => {
    const view = await readEvent(sources, ctx.params.eventId!);
    if (!view.found) {
      ctx.status = 404;
      ctx.body = { error: view.message, reason: view.reason };
      return;
    }
    ctx.body = view;
  });

  router.post("/events/:eventId/replay", async (ctx) => {
    const body = await jsonBody(ctx);
    if (!body) return badRequest(ctx, "expected a JSON object: { destination?, asNew? }");
    const { destination, asNew } = body;
    if (destination !== undefined && typeof destination !== "string") return badRequest(ctx, "destination: a name");
    if (asNew !== undefined && typeof asNew !== "boolean") return badRequest(ctx, "asNew: true or false");
    const by = dashboardUser(ctx);
    const replay = await replayEvent(sources, ctx.params.eventId!, {
      destination,
      asNew: asNew ?? false,
      commandLine: `${by}: replay ${destination ? `to ${destination}` : "to every destination"}${asNew ? " as new" : ""}`,
    });
    if (!replay.ok) {
      ctx.status = replay.reason === "no_destination" ? 400 : 404;
      ctx.body = { error: replay.message, reason: replay.reason };
      return;
    }
    ctx.status = 202;
    ctx.body = { eventId: replay.eventId, by, at: new Date().toISOString(), outcomes: replay.outcomes };
  });

  router.get("/conversations/:chatId/events", async (ctx) => {
    try {
      const chatId = ctx.params.chatId!;
      const cursor = one(ctx.query, "cursor");
      const page = await conversationEvents(sources, chatId, { limit: limitOfQuery(ctx.query, DEFAULT_LIMIT), cursor });
      // The sends between this page's events (the relay's own replies), by acceptance time.
      ctx.body = { ...page, sends: await conversationSends(sources, chatId, cursor, page) };
    } catch (error) {
      if (error instanceof RangeError) return badRequest(ctx, `cursor: ${error.message}`);
      throw error;
    }
  });

  router.get("/refused", async (ctx) => {
    const reason = one(ctx.query, "reason");
    const status = reason === undefined ? null : Number(reason);
    if (status !== null && !(Number.isInteger(status) && status >= 400 && status < 500)) {
      return badRequest(ctx, "reason: an HTTP status such as 401");
    }
    ctx.body = { refused: await readRefusals(sources.redis, sources.prefix, status, limitOfQuery(ctx.query, 1_000)) };
  });

  router.get("/replays/estimate", async (ctx) => {
    const parsed = failedFilterOf(ctx.query);
    if ("error" in parsed) return badRequest(ctx, parsed.error);
    ctx.body = await bulk.estimate(parsed.filter);
  });

  router.post("/replays", async (ctx) => {
    const body = await jsonBody(ctx);
    if (!body) return badRequest(ctx, "expected a JSON object of filters and asNew");
    const parsed = failedFilterOf(body);
    if ("error" in parsed) return badRequest(ctx, parsed.error);
    ctx.status = 202;
    ctx.body = await bulk.start(parsed.filter, { asNew: body.asNew === true, by: dashboardUser(ctx) });
  });

  router.get("/replays/:id", (ctx) => {
    const run = bulk.get(ctx.params.id!);
    ctx.status = run ? 200 : 404;
    ctx.body = run ?? { error: "no such bulk replay (they last as long as the dashboard process)" };
  });

  router.post("/replays/:id/cancel", (ctx) => {
    const run = bulk.cancel(ctx.params.id!);
    ctx.status = run ? 202 : 404;
    ctx.body = run ?? { error: "no such bulk replay" };
  });

  return router;
}
