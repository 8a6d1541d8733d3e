import { messageEventId } from "@yuju-relay/protocol";
import { uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { callbackEventId, callbackIndexKey, recordFailedCallback } from "./callback-index.ts";
import type { CallbackJobData } from "./job-catalog.ts";

const message = (data: Record<string, unknown>) => ({ data });

describe("callbackEventId", () => {
  it("is the event's id for a valid body, msg_<messageId> for an invalid one that names its message, else null", () => {
    const valid = message({
      messageId: "m-1",
      chatId: "c",
      type: 7,
      payload: { text: "hi" },
      timestamp: "1",
      isSelf: false,
    });
    expect(callbackEventId({ kind: "message", body: valid })).toBe("msg_m-1");
    expect(callbackEventId({ kind: "message", body: message({ messageId: 42, type: "seven" }) })).toBe("msg_42");
    // Not a plain header value: the same derived id the valid message would have had.
    expect(callbackEventId({ kind: "message", body: message({ messageId: "消息", type: "seven" }) })).toBe(
      messageEventId("消息"),
    );
    expect(callbackEventId({ kind: "unclassified", body: { hello: "world" } })).toBeNull();
    expect(callbackEventId({ kind: "unclassified", body: null })).toBeNull();
  });
});

describe("recordFailedCallback (real Redis)", () => {
  const redis = new Redis(inject("redisUrl"));
  const prefix = uniquePrefix("callbackindex");
  const queue = new Queue<CallbackJobData>("callbacks", { connection: redis, prefix });
  afterAll(async () => {
    await queue.close();
    await redis.quit();
  });

  it("names the failed job under its event id for as long as failed jobs are kept", async () => {
    const job = await queue.add("message", {
      kind: "message",
      route: "/notice",
      method: "POST",
      receivedAt: new Date().toISOString(),
      body: message({ messageId: "m-bad", type: "seven" }),
    });
    await recordFailedCallback(redis, prefix, job, 60_000);
    expect(await redis.get(callbackIndexKey(prefix, "msg_m-bad"))).toBe(job.id);
    const ttl = await redis.pttl(callbackIndexKey(prefix, "msg_m-bad"));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
