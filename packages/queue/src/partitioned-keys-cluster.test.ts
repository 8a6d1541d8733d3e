import { redisClusterUnavailable, startRedisCluster, type TestRedisCluster } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import calculateSlot from "cluster-key-slot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallbackPartitions } from "./callback-partitions.ts";
import { createWorkerConnection, type RedisClient } from "./connections.ts";
import { ConversationOrder } from "./conversation-order.ts";
import { EventClaims } from "./event-claims.ts";
import { eventSummary, readEventRecord, recordAttempts, recordEvents } from "./event-record.ts";
import { claimPartitionCount } from "./partition-count.ts";

const PREFIX = "yuju";
const partitions = new CallbackPartitions(6);

const message = (id: string, chatId: string) =>
  ({
    id,
    type: "message.received",
    occurredAt: "2026-12-03T10:00:00.000Z",
    data: { messageId: id, chatId, room: null, contact: { id: "c-1" }, bot: { id: "b-1" } },
  }) as never;

// On a real Redis Cluster, a script whose keys span slots fails with CROSSSLOT: running each
// multi-key script of the relay against partitioned keys is the check that they stay in one slot.
describe.skipIf(redisClusterUnavailable() !== null)("partitioned keys on a real Redis Cluster (6 partitions)", () => {
  let cluster: TestRedisCluster;
  let redis: RedisClient;
  const queues: Queue[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = createWorkerConnection(cluster.url, { cluster: true });
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    redis?.disconnect();
    await cluster?.close();
  });

  it("puts two partitions on each master, each partition's keys in its tag's slot", async () => {
    const masters = (await cluster.nodes()).filter((n) => n.role === "master");
    const slotOwner = (slot: number) => masters.findIndex((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
    const owners = partitions.indexes().map((p) => slotOwner(calculateSlot(partitions.callbackQueueName(p))));
    expect(masters.map((_, m) => owners.filter((o) => o === m).length)).toEqual([2, 2, 2]);
    for (const p of partitions.indexes()) {
      const slot = calculateSlot(partitions.callbackQueueName(p));
      expect(calculateSlot(`${PREFIX}:${partitions.deliveryQueueName("crm", p)}:wait`)).toBe(slot);
      expect(calculateSlot(`${partitions.keyPrefix(PREFIX, p)}:event-claims:msg_1`)).toBe(slot);
    }
  });

  it("claims a batch of events per partition in one script", async () => {
    for (const p of partitions.indexes()) {
      const claims = new EventClaims(redis, partitions.keyPrefix(PREFIX, p), 60_000);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => claims.claim(`msg_${p}-${i}`, `job-${i}`)),
      );
      expect(outcomes.every((o) => o.claimed)).toBe(true);
      expect(await claims.claim(`msg_${p}-3`, "job-other")).toEqual({ claimed: false, ownerJobId: "job-3" });
    }
    // The check bites: the same batch under an untagged prefix spans slots, and the cluster refuses it.
    const untagged = new EventClaims(redis, PREFIX, 60_000);
    const refused = Promise.all(Array.from({ length: 20 }, (_, i) => untagged.claim(`msg_u-${i}`, `job-${i}`)));
    await expect(refused).rejects.toThrow(/CROSSSLOT/);
  });

  it("records events, their index entries and attempts per partition in one script each", async () => {
    for (const p of partitions.indexes()) {
      const keyPrefix = partitions.keyPrefix(PREFIX, p);
      const events = Array.from({ length: 5 }, (_, i) => ({
        summary: eventSummary(message(`msg_r${p}-${i}`, `chat-${i}`), "2026-12-03T10:00:00.000Z", String(i + 1)),
        destinations: [{ name: "crm", status: { state: "queued" } as never }],
      }));
      await recordEvents(redis, keyPrefix, 60_000, events);
      await recordAttempts(
        redis,
        keyPrefix,
        60_000,
        events.map(({ summary }) => ({
          eventId: summary.id,
          attempt: { destination: "crm", attempt: 1, at: "2026-12-03T10:00:01.000Z", outcome: "delivered" } as never,
          status: { state: "delivered" } as never,
        })),
      );
      const record = await readEventRecord(redis, keyPrefix, `msg_r${p}-4`);
      expect(record?.attempts).toHaveLength(1);
    }
  });

  it("keeps a conversation's ordering line beside its destination's queue", async () => {
    for (const p of partitions.indexes()) {
      const deliveries = new Queue(partitions.deliveryQueueName("crm", p), { connection: redis, prefix: PREFIX });
      const callbacks = new Queue(partitions.callbackQueueName(p), { connection: redis, prefix: PREFIX });
      queues.push(deliveries, callbacks);
      const order = new ConversationOrder(redis, deliveries, partitions.keyPrefix(PREFIX, p), "crm", callbacks);
      expect(await order.reserve("chat-1", "msg_a", 1)).toBe("head");
      expect(await order.reserve("chat-1", "msg_b", 2)).toBe("behind-missing");
      expect(await order.turn("chat-1", "msg_b")).toBe("behind");
      expect(await order.release("chat-1", "msg_a")).toBe("msg_b");
    }
  });

  it("records the partition count in a key of its own", async () => {
    await claimPartitionCount(redis, PREFIX, 6);
    await expect(claimPartitionCount(redis, PREFIX, 3)).rejects.toThrow(/laid out in 6/);
  });
});
