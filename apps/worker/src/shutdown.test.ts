import {
  CALLBACK_QUEUE,
  callbackJobOptions,
  deliveryQueueName,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { eventually, spawnApp, startReceiver, uniquePrefix, type Receiver } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

describe("worker SIGTERM (real child processes)", () => {
  const prefix = uniquePrefix("workerstop");
  let receiver: Receiver;
  let redis: Redis;
  let queue: Queue<CallbackJobData>;
  let deliveries: Queue<DeliveryJobData>;
  beforeAll(async () => {
    receiver = await startReceiver();
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    deliveries = new Queue(deliveryQueueName("default"), { connection: redis, prefix });
  });
  afterAll(async () => {
    await queue.close();
    await deliveries.close();
    await redis.quit();
    await receiver.close();
  });

  it("finishes the jobs it holds, leaves the rest queued, and another worker delivers them: none lost, none twice", async () => {
    const total = 24;
    await queue.addBulk(
      Array.from({ length: total }, (_, i) => ({
        name: `message stop-${i}`,
        data: {
          kind: "message" as const,
          route: "/notice",
          method: "POST",
          receivedAt: new Date().toISOString(),
          body: { data: { messageId: `stop-${i}`, type: 7, payload: { text: `m${i}` } } },
        },
        opts: callbackJobOptions("message"),
      })),
    );
    // A slow downstream, so that SIGTERM lands while deliveries are in flight.
    receiver.delayMs = 400;
    const env = {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      FORWARD_URL: receiver.url,
      FORWARD_SECRET: SECRET,
      WORKER_CONCURRENCY: "4",
    };
    const first = spawnApp("worker", env);
    await first.waitForLog(/worker started/);
    await eventually(() => expect(receiver.started).toBeGreaterThanOrEqual(4));
    expect(await first.stop("SIGTERM")).toBe(0);
    expect(first.logs.some((l) => l.msg === "worker stopped")).toBe(true);

    // Nothing half done: every job, callback or delivery, is either completed or still waiting. The
    // deliveries were inline (the receiver answers within INLINE_TIMEOUT): each completed callback
    // job is one delivery made, none is left in a delivery queue.
    expect(await queue.getActiveCount()).toBe(0);
    expect(await deliveries.getActiveCount()).toBe(0);
    const completedByFirst = await queue.getCompletedCount();
    expect(completedByFirst).toBe(receiver.deliveries.length);
    expect(completedByFirst).toBeGreaterThanOrEqual(4);
    expect(completedByFirst).toBeLessThan(total);
    expect(await deliveries.count()).toBe(0);

    receiver.delayMs = 0;
    const second = spawnApp("worker", env);
    await eventually(async () => expect(await queue.getCompletedCount()).toBe(total), { timeoutMs: 20_000 });
    expect(await second.stop("SIGTERM")).toBe(0);
    const ids = receiver.deliveries.map((d) => String(d.headers["webhook-id"]));
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
  });
});
