import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createWorkerConnection } from "./connections.ts";
import { EventRecorder } from "./event-recorder.ts";
import { eventRecordKey, readDestinationStatuses, readEventRecord, type EventSummary } from "./event-record.ts";

const summary = (id: string): EventSummary => ({
  id,
  type: "message.received",
  kind: "text",
  receivedAt: "2026-12-03T10:00:00.000Z",
  callbackJobId: "7",
  messageId: id.slice(4),
  chatId: "chat-1",
  contactId: "c-1",
  roomId: null,
  botWxid: "bot-1",
  excerpt: "你好",
});

describe("EventRecorder (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  const prefix = uniquePrefix("record");
  afterAll(() => redis.quit());

  it("writes the summaries, statuses and attempts of one turn together; an attempt's status is the later word", async () => {
    const recorder = new EventRecorder(redis, prefix, 60_000);
    const at = "2026-12-03T10:00:00.010Z";
    await Promise.all([
      recorder.write({
        events: [
          {
            summary: summary("msg_a"),
            destinations: [
              { name: "crm", status: { state: "queued", reason: null, jobId: "msg_a", at } },
              {
                name: "texts",
                status: { state: "filtered", reason: "filter.kinds: image not in [text]", jobId: null, at },
              },
            ],
          },
        ],
        attempts: [
          {
            eventId: "msg_a",
            attempt: {
              destination: "crm",
              attempt: 1,
              inline: true,
              at,
              durationMs: 3,
              status: 503,
              error: null,
              retryAfterMs: null,
              responseExcerpt: "busy",
              outcome: "retrying",
              webhookId: "msg_a",
            },
            status: { state: "retrying", reason: "answered 503", jobId: "msg_a", at },
          },
        ],
      }),
      recorder.write({ events: [{ summary: summary("msg_b"), destinations: [] }] }),
    ]);
    const record = await readEventRecord(redis, prefix, "msg_a");
    expect(record?.summary?.messageId).toBe("a");
    expect(record?.destinations.crm?.state).toBe("retrying");
    expect(record?.destinations.texts?.reason).toBe("filter.kinds: image not in [text]");
    expect(record?.attempts).toMatchObject([{ destination: "crm", status: 503, outcome: "retrying" }]);
    expect((await readEventRecord(redis, prefix, "msg_b"))?.summary?.id).toBe("msg_b");
    expect(Object.keys(await readDestinationStatuses(redis, prefix, "msg_a")).sort()).toEqual(["crm", "texts"]);
    const ttl = await redis.pttl(eventRecordKey(prefix, "msg_a"));
    expect(ttl).toBeGreaterThan(59_000);
  });
});
