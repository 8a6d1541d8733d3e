import { uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createWorkerConnection } from "./connections.ts";
import { INDEX_SIZE } from "./event-record.ts";
import { SEND_QUEUE, type SendJobData } from "./job-catalog.ts";
import { acceptSend } from "./send-acceptance.ts";
import { readChatSends, SEND_RECORD_TTL_MS, sendChatIndexKey } from "./send-record.ts";

describe("the chat's send index (real Redis, real queue)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  const prefix = uniquePrefix("send-index");
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: redis, prefix });
  afterAll(async () => {
    await queue.close();
    await redis.quit();
  });
  const send = (chatId: string, text: string, idempotencyKey?: string) =>
    acceptSend(redis, queue, prefix, { chatId, botWxid: "bot-1", message: { type: "text", text }, idempotencyKey });

  it("indexes each accepted send by acceptance time, once per idempotency key, and reads them oldest first", async () => {
    const first = await send("c-1", "one", "k-1");
    const again = await send("c-1", "one", "k-1");
    const second = await send("c-1", "two");
    await send("c-2", "elsewhere");
    expect(again).toMatchObject({ outcome: "duplicate" });
    const sends = await readChatSends(redis, prefix, "c-1");
    expect(sends.map((s) => [s.id, s.status, s.request?.message])).toEqual([
      [(first as { id: string }).id, "queued", { type: "text", text: "one" }],
      [(second as { id: string }).id, "queued", { type: "text", text: "two" }],
    ]);
    const ttl = await redis.pttl(sendChatIndexKey(prefix, "c-1"));
    expect(ttl).toBeGreaterThan(SEND_RECORD_TTL_MS - 60_000);
    // A range past both acceptances holds none; a record gone is left out.
    expect(await readChatSends(redis, prefix, "c-1", { fromMs: Date.now() + 1_000 })).toEqual([]);
    await redis.zadd(sendChatIndexKey(prefix, "c-1"), Date.now(), "snd_expired");
    expect(await readChatSends(redis, prefix, "c-1")).toHaveLength(2);
  });

  it(`keeps the newest ${INDEX_SIZE} of a chat`, async () => {
    const key = sendChatIndexKey(prefix, "busy");
    const old = Array.from({ length: INDEX_SIZE }, (_, i) => [i + 1, `snd_old${i}`] as const);
    await redis.zadd(key, ...old.flat());
    const accepted = await send("busy", "newest");
    expect(await redis.zcard(key)).toBe(INDEX_SIZE);
    expect(await redis.zscore(key, "snd_old0")).toBeNull();
    expect(await redis.zscore(key, (accepted as { id: string }).id)).not.toBeNull();
  });
});
