import {
  createCallbackQueue,
  createDeliveryQueue,
  recordEvents,
  type DestinationState,
  type EventSummary,
} from "@yuju-relay/queue";
import { uniquePrefix } from "@yuju-relay/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { conversationEvents, searchEvents } from "./event-search.ts";
import type { EventSources } from "./event-sources.ts";

const T0 = Date.parse("2026-12-03T10:00:00Z");

function summary(n: number, over: Partial<EventSummary> = {}): EventSummary {
  return {
    id: `msg_m-${n}`,
    type: "message.received",
    kind: n % 2 ? "text" : "image",
    receivedAt: new Date(T0 + Math.floor(n / 3) * 1_000).toISOString(), // three events per second
    callbackJobId: String(n),
    messageId: `m-${n}`,
    chatId: n < 10 ? "chat-a" : "chat-b",
    contactId: `contact-${n % 4}`,
    roomId: null,
    botWxid: "bot-1",
    excerpt: `你好 ${n}`,
    ...over,
  };
}

describe("event search over the index zsets (real Redis)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix("search");
  const sources: EventSources = {
    redis,
    prefix,
    callbacks: createCallbackQueue(redis, prefix),
    deliveries: new Map([["crm", createDeliveryQueue(redis, prefix, "crm")]]),
    policies: new Map(),
    retention: { completedMs: 86_400_000, failedMs: 86_400_000 },
  };
  const status = (state: DestinationState) => ({ state, reason: null, jobId: null, at: new Date(T0).toISOString() });

  beforeAll(async () => {
    await recordEvents(
      redis,
      prefix,
      3_600_000,
      Array.from({ length: 20 }, (_, n) => ({
        summary: summary(n),
        destinations: [
          { name: "crm", status: status(n % 5 === 0 ? "failed" : "delivered") },
          { name: "archive", status: status(n % 2 ? "filtered" : "delivered") },
        ],
      })),
    );
  });
  afterAll(async () => {
    await sources.callbacks.close();
    for (const q of sources.deliveries.values()) await q.close();
    await redis.quit();
  });

  it("pages newest first by cursor, no event lost or repeated where several share a millisecond", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await searchEvents(sources, {}, { limit: 4, cursor });
      seen.push(...page.events.map((e) => e.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    const times = seen.map((id) => Date.parse(summary(Number(id.slice(6))).receivedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("finds by messageId, event id, chatId, contactId or botWxid", async () => {
    const ids = async (q: string) => (await searchEvents(sources, { q }, { limit: 50 })).events.map((e) => e.id);
    expect(await ids("m-7")).toEqual(["msg_m-7"]);
    expect(await ids("msg_m-7")).toEqual(["msg_m-7"]);
    expect(await ids("chat-a")).toHaveLength(10);
    expect((await ids("contact-1")).sort()).toEqual(["msg_m-1", "msg_m-13", "msg_m-17", "msg_m-5", "msg_m-9"]);
    expect(await ids("bot-1")).toHaveLength(20);
    expect(await ids("nobody")).toEqual([]);
  });

  it("filters by state per destination, type or kind, and time", async () => {
    const ids = async (filter: Parameters<typeof searchEvents>[1]) =>
      (await searchEvents(sources, filter, { limit: 50 })).events.map((e) => e.id).sort();
    expect(await ids({ state: "failed", destination: "crm" })).toEqual(
      ["msg_m-0", "msg_m-10", "msg_m-15", "msg_m-5"].sort(),
    );
    // failed at crm is not failed at archive
    expect(await ids({ state: "failed", destination: "archive" })).toEqual([]);
    expect(await ids({ state: "filtered", type: "image" })).toEqual([]);
    expect(await ids({ type: "image", q: "chat-a" })).toEqual(
      ["msg_m-0", "msg_m-2", "msg_m-4", "msg_m-6", "msg_m-8"].sort(),
    );
    expect(await ids({ since: T0 + 6_000 })).toEqual(["msg_m-18", "msg_m-19"]);
    expect(await ids({ until: T0 })).toEqual(["msg_m-0", "msg_m-1", "msg_m-2"]);
  });

  it("reads a conversation oldest first", async () => {
    const page = await conversationEvents(sources, "chat-b", { limit: 3 });
    expect(page.events.map((e) => e.id)).toEqual(["msg_m-10", "msg_m-11", "msg_m-12"]);
    const next = await conversationEvents(sources, "chat-b", { limit: 50, cursor: page.nextCursor! });
    expect(next.events.map((e) => e.id)).toEqual(Array.from({ length: 7 }, (_, i) => `msg_m-${13 + i}`));
  });

  it("refuses a cursor it did not give", async () => {
    await expect(searchEvents(sources, {}, { limit: 5, cursor: "not-a-cursor" })).rejects.toThrow(RangeError);
  });
});
