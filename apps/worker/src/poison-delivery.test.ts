import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { messageEventId } from "@yuju-relay/protocol";
import {
  CALLBACK_QUEUE,
  callbackJobOptions,
  deliveryQueueName,
  readEventRecord,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { eventually, spawnApp, uniquePrefix, type AppProcess } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

// The CRM's refusal: a readable sentence, then a long tail of multi-byte text.
const REFUSAL = JSON.stringify({ error: "customer id missing in CRM", detail: "客户资料缺失".repeat(100) });

const messageJob = (messageId: string): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { data: { messageId, type: 7, payload: { text: "hi" } } },
});
const roomJob = (roomId: string): CallbackJobData => ({
  kind: "room_members",
  route: "/room/left",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { imRoomId: roomId, leftMember: [{ imContactId: "c-1" }], timestamp: "1742261285000" },
});

describe("a worker child process against hostile ids and a refusing endpoint", () => {
  const prefix = uniquePrefix("poison");
  const deliveries: Array<{ headers: IncomingHttpHeaders; body: { data: Record<string, unknown> } }> = [];
  let server: Server;
  let redis: Redis;
  let queue: Queue<CallbackJobData>;
  // FORWARD_URL is the destination `default`: its deliveries, failed ones included, are in this queue.
  let deliveryQueue: Queue<DeliveryJobData>;
  let worker: AppProcess;

  beforeAll(async () => {
    // Accepts every event, except those whose messageId or room says "refuse".
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        if (raw.includes("refuse")) return res.writeHead(422, { "content-type": "application/json" }).end(REFUSAL);
        deliveries.push({ headers: req.headers, body: JSON.parse(raw) as { data: Record<string, unknown> } });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    deliveryQueue = new Queue(deliveryQueueName("default"), { connection: redis, prefix });
    worker = spawnApp("worker", {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      FORWARD_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
      FORWARD_SECRET: SECRET,
      FORWARD_TIMEOUT: "300ms",
      WORKER_CONCURRENCY: "1",
    });
    await worker.waitForLog(/worker started/);
  });
  afterAll(async () => {
    await worker.stop("SIGTERM");
    await queue.close();
    await deliveryQueue.close();
    await redis.quit();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("delivers messageIds that are not header values under a derived webhook-id, lives on, and delivers the next job", async () => {
    const hostile = ["中文消息-1", "line\r\nbreak", "nul\0byte", "😀", " padded ", "x".repeat(300)];
    for (const id of [...hostile, "after-poison"])
      await queue.add("message", messageJob(id), callbackJobOptions("message"));
    await eventually(() => expect(deliveries.map((d) => d.body.data.messageId)).toContain("after-poison"));
    for (const id of hostile) {
      const delivery = deliveries.find((d) => d.body.data.messageId === id);
      expect(delivery, JSON.stringify(id)).toBeDefined();
      expect(delivery!.headers["webhook-id"]).toBe(messageEventId(id));
      expect(delivery!.headers["webhook-id"]).toMatch(/^msg_~[A-Za-z0-9_-]{43}$/);
    }
    expect(deliveries.find((d) => d.body.data.messageId === "after-poison")!.headers["webhook-id"]).toBe(
      "msg_after-poison",
    );
    expect(worker.child.exitCode).toBeNull();
    expect(await queue.getFailedCount()).toBe(0);
    expect(await deliveryQueue.getFailedCount()).toBe(0);
    const delivered = await worker.waitForLog(/event delivered/);
    expect(delivered).toMatchObject({
      eventId: expect.any(String),
      messageId: expect.any(String),
      jobId: expect.any(String),
    });
  });

  it("keeps the status and the first KB of a refusal, cut on a character, in the failed job and its log line", async () => {
    await queue.add("message", messageJob("refuse-客户-1"), callbackJobOptions("message"));
    await queue.add("room_members", roomJob("room-refuse-1"), callbackJobOptions("room_members"));
    const failed = await eventually(async () => {
      const jobs = await deliveryQueue.getFailed();
      expect(jobs).toHaveLength(2);
      return jobs;
    });
    for (const job of failed) {
      expect(job.attemptsMade).toBe(1);
      const excerpt = /answered 422: (.*) \(not retried\)$/s.exec(job.failedReason)?.[1] ?? "";
      expect(excerpt.startsWith('{"error":"customer id missing in CRM"')).toBe(true);
      expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(1024);
      expect(Buffer.byteLength(excerpt)).toBeGreaterThan(1014);
      expect(excerpt).not.toContain("\uFFFD");
    }
    // The attempt, as data: the status and the answer's start are fields, not parsed from the reason.
    const record = await readEventRecord(redis, prefix, messageEventId("refuse-客户-1"));
    expect(record?.attempts).toMatchObject([{ attempt: 1, status: 422, error: null, outcome: "failed" }]);
    expect(record?.attempts[0]?.responseExcerpt?.startsWith('{"error":"customer id missing in CRM"')).toBe(true);
    expect(record?.destinations.default).toMatchObject({ state: "failed", jobId: expect.any(String) });
    const lines = await eventually(() => {
      const found = worker.logs.filter((l) => l.msg === "delivery failed (kept for replay)");
      expect(found).toHaveLength(2);
      return found;
    });
    expect(lines.find((l) => l.messageId === "refuse-客户-1")).toMatchObject({
      eventId: messageEventId("refuse-客户-1"),
      err: expect.stringContaining("customer id missing in CRM"),
    });
    expect(lines.find((l) => l.roomId === "room-refuse-1")).toMatchObject({
      eventId: expect.stringMatching(/^room_left_/),
      err: expect.stringContaining("answered 422"),
    });
    expect(worker.child.exitCode).toBeNull();
  });
});
