import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import {
  CALLBACK_QUEUE,
  deliveryQueueName,
  readEventRecord,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import {
  eventually,
  loadFixtures,
  loadSeedExamples,
  sendCallback,
  startReceiver,
  uniquePrefix,
  type Receiver,
} from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker } from "./worker.ts";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";
const silent = createLogger("test", "silent");

/** The whole path on one real Redis: ingress → queue → worker → signed delivery to a local receiver. */
async function startPipeline(receiver: Receiver, extraWorkerEnv: Record<string, string> = {}) {
  const prefix = uniquePrefix("pipeline");
  const redisUrl = inject("redisUrl");
  const ingress = await startIngress(
    parseEnv(ingressEnv, {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      CALLBACK_TOKEN: TOKEN,
    }),
    silent,
  );
  const worker = await startWorker(
    parseEnv(workerEnv, {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      FORWARD_URL: receiver.url,
      FORWARD_SECRET: SECRET,
      RETRY_BASE_DELAY: "20ms",
      WORKER_CONCURRENCY: "4",
      ...extraWorkerEnv,
    }),
    silent,
  );
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
  // FORWARD_URL is the destination named `default`.
  const deliveries = new Queue<DeliveryJobData>(deliveryQueueName("default"), { connection: redis, prefix });
  return {
    ingress,
    worker,
    queue,
    deliveries,
    redis,
    prefix,
    async close() {
      await ingress.close();
      await worker.close();
      await queue.close();
      await deliveries.close();
      await redis.quit();
    },
  };
}

function verified(receiver: Receiver) {
  const webhook = new Webhook(SECRET);
  return receiver.deliveries.map((d) => {
    const headers = {
      "webhook-id": String(d.headers["webhook-id"]),
      "webhook-timestamp": String(d.headers["webhook-timestamp"]),
      "webhook-signature": String(d.headers["webhook-signature"]),
    };
    // Throws unless the signature is right for this exact body.
    webhook.verify(d.raw, headers);
    return { id: headers["webhook-id"], ...d.body, status: d.status };
  });
}

describe("pipeline: every fixture and the seeds, end to end", () => {
  let receiver: Receiver;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    pipeline = await startPipeline(receiver);
  });
  afterAll(async () => {
    await pipeline.close();
    await receiver.close();
  });

  it("delivers each fixture as its event, signed, without the token", async () => {
    const fixtures = loadFixtures();
    for (const fixture of fixtures) {
      const path = fixture.name.startsWith("msg_") ? "/notice" : "/room/joined";
      const answer = await sendCallback(`${pipeline.ingress.url}${path}`, fixture.raw);
      expect(answer, fixture.name).toMatchObject({ status: 200, body: {} });
    }
    await eventually(() => expect(receiver.deliveries.length).toBe(fixtures.length));
    const events = verified(receiver);
    for (const fixture of fixtures) {
      const data = fixture.body.data as Record<string, unknown> | undefined;
      const event = data
        ? events.find((e) => e.id === `msg_${String(data.messageId)}`)
        : events.find(
            (e) =>
              "members" in e.data &&
              e.data.members[0]?.id ===
                ((fixture.body.leftMember ?? fixture.body.joinedMember) as Array<{ imContactId: string }>)[0]
                  ?.imContactId,
          );
      expect(event, fixture.name).toBeDefined();
      const expectedType = data
        ? "message.received"
        : fixture.name.startsWith("leave")
          ? "room.members_left"
          : "room.members_joined";
      expect(event?.type, fixture.name).toBe(expectedType);
    }
    expect(receiver.deliveries.some((d) => d.raw.includes(TOKEN))).toBe(false);
  });

  it("processes the seeds' sample requests sent exactly as their curl does (GET /notice with a body)", async () => {
    const before = receiver.deliveries.length;
    for (const seed of loadSeedExamples()) {
      // The seeds carry the placeholder "string" as token; this ingress expects the real one.
      const answer = await sendCallback(
        `${pipeline.ingress.url}${seed.path}`,
        seed.raw.replaceAll('"token": "string"', `"token": "${TOKEN}"`),
        seed.method,
      );
      expect(answer.status, seed.name).toBe(200);
    }
    await eventually(() => expect(receiver.deliveries.length).toBe(before + 2));
    const [message, leave] = verified(receiver)
      .slice(before)
      .sort((a, b) => a.type.localeCompare(b.type));
    expect(message).toMatchObject({
      id: "msg_string",
      type: "message.received",
      data: { kind: "unknown", room: { wecomChatId: "string" } },
    });
    expect(leave).toMatchObject({ type: "room.members_left", data: { members: [{ id: "string" }] } });
  });
});

describe("pipeline: retries, failures and duplicates", () => {
  let receiver: Receiver;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    pipeline = await startPipeline(receiver);
  });
  afterEach(() => {
    receiver.deliveries.length = 0;
  });
  afterAll(async () => {
    await pipeline.close();
    await receiver.close();
  });
  const message = (messageId: string) =>
    JSON.stringify({ data: { messageId, type: 7, payload: { text: "你好" }, token: TOKEN } });

  it("delivers a redelivered messageId once", async () => {
    for (let i = 0; i < 3; i++)
      expect((await sendCallback(`${pipeline.ingress.url}/notice`, message("dup-1"))).status).toBe(200);
    const jobs = await eventually(async () => {
      const completed = await pipeline.queue.getCompleted();
      const mine = completed.filter((j) => JSON.stringify(j.data).includes("dup-1"));
      expect(mine).toHaveLength(3);
      return mine;
    });
    expect(jobs.map((j) => (j.returnvalue as { outcome: string }).outcome).sort()).toEqual([
      "duplicate",
      "duplicate",
      "queued",
    ]);
    // Delivered inline by the job that took it: the event's record says so, no delivery job was needed.
    const record = await eventually(async () => {
      const found = await readEventRecord(pipeline.redis, pipeline.prefix, "msg_dup-1");
      expect(found?.destinations.default?.state).toBe("delivered");
      return found!;
    });
    expect(record.attempts).toMatchObject([
      { destination: "default", attempt: 1, inline: true, status: 200, outcome: "delivered" },
    ]);
    expect(await pipeline.deliveries.getJob("msg_dup-1")).toBeUndefined();
    expect(receiver.deliveries.filter((d) => d.headers["webhook-id"] === "msg_dup-1")).toHaveLength(1);
  });

  it("without event claims (DEDUP_WINDOW=0), still delivers a redelivery once while its delivery job is retained", async () => {
    const own = await startReceiver();
    const undeduplicated = await startPipeline(own, { DEDUP_WINDOW: "0" });
    try {
      for (let i = 0; i < 2; i++) await sendCallback(`${undeduplicated.ingress.url}/notice`, message("dup-off"));
      // Both callback jobs fan out; the second add to the destination finds the first one's job id.
      await eventually(async () => {
        const completed = await undeduplicated.queue.getCompleted();
        expect(completed.map((j) => (j.returnvalue as { outcome: string }).outcome)).toEqual(["queued", "queued"]);
      });
      await eventually(async () => expect(await undeduplicated.deliveries.getCompletedCount()).toBe(1));
      expect(await undeduplicated.deliveries.getWaitingCount()).toBe(0);
      expect(own.deliveries.map((d) => d.headers["webhook-id"])).toEqual(["msg_dup-off"]);
      const redis = new Redis(inject("redisUrl"));
      const claimKeys = await redis.keys(`${undeduplicated.queue.opts.prefix}:event-claims:*`);
      await redis.quit();
      expect(claimKeys).toEqual([]);
    } finally {
      await undeduplicated.close();
      await own.close();
    }
  });

  it("retries a downstream that fails twice, then delivers once, with the same webhook-id", async () => {
    receiver.respondWith(503, 500);
    await sendCallback(`${pipeline.ingress.url}/notice`, message("flaky-1"));
    await eventually(() => expect(receiver.deliveries.map((d) => d.status)).toEqual([503, 500, 200]));
    expect(new Set(receiver.deliveries.map((d) => d.headers["webhook-id"]))).toEqual(new Set(["msg_flaky-1"]));
  });

  it("fails the job at once on a downstream 400, without retries", async () => {
    receiver.respondWith(400);
    await sendCallback(`${pipeline.ingress.url}/notice`, message("rejected-1"));
    const job = await eventually(async () => {
      const failed = (await pipeline.deliveries.getFailed()).find((j) => j.data.messageId === "rejected-1");
      expect(failed).toBeDefined();
      return failed!;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/answered 400.*not retried/);
    // The job's data is the event without any secret; its id and name say which event it is.
    expect(job.id).toBe("msg_rejected-1");
    expect(job.name).toBe("message.received msg_rejected-1");
    expect(JSON.stringify(job.data)).not.toContain("whsec_");
    expect(receiver.deliveries).toHaveLength(1);
  });

  it("acks a schema-invalid body, fails it once with its reason, never delivers it", async () => {
    const invalid = JSON.stringify({ data: { messageId: "bad-1", type: "not-a-number", token: TOKEN } });
    expect((await sendCallback(`${pipeline.ingress.url}/notice`, invalid)).status).toBe(200);
    const job = await eventually(async () => {
      const failed = (await pipeline.queue.getFailed()).find((j) => JSON.stringify(j.data).includes("bad-1"));
      expect(failed).toBeDefined();
      return failed!;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid message callback: data\.type/);
    // The dashboard shows the reason, not a stack trace through our own code.
    expect(job.stacktrace).toEqual([`UnrecoverableError: ${job.failedReason}`]);
    // Still there to replay once the cause is fixed: a retry runs it again.
    expect(await job.getState()).toBe("failed");
    expect(receiver.deliveries).toHaveLength(0);
  });

  it("fails a body of unknown kind visibly, with its keys", async () => {
    await sendCallback(`${pipeline.ingress.url}/room/left`, JSON.stringify({ token: TOKEN, event: "friend_added" }));
    const job = await eventually(async () => {
      const failed = (await pipeline.queue.getFailed()).find((j) => j.data.kind === "unclassified");
      expect(failed).toBeDefined();
      return failed!;
    });
    expect(job.failedReason).toMatch(/unknown callback kind.*event/);
  });
});
