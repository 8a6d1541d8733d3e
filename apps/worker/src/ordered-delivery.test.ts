import { parseEnv, type Destination, type OrderedFailurePolicy } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import {
  CALLBACK_QUEUE,
  callbackJobOptions,
  deliveryJobId,
  deliveryQueueName,
  ORDERED_DELIVERY,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { eventually, startReceiver, uniquePrefix, type ReceivedDelivery, type Receiver } from "@yuju-relay/testing";
import type { EventHandlers } from "@yuju-relay/handlers";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker, type RunningWorker } from "./worker.ts";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

/** A field of the delivered event's data (message events carry chatId and messageId). */
const dataField = (d: ReceivedDelivery, key: string) =>
  String((d.body.data as unknown as Record<string, unknown>)[key]);

const silent = createLogger("test", "silent");

function orderedDestination(url: string, onFailure: OrderedFailurePolicy, attempts: number): Destination {
  return {
    name: "crm",
    url,
    secret: SECRET,
    events: null,
    filter: null,
    timeoutMs: 5_000,
    attempts,
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
    rateLimit: null,
    enabled: true,
    ordering: { by: "conversation", onFailure },
  };
}

const message = (chatId: string, messageId: string): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { data: { messageId, chatId, type: 7, payload: { text: messageId } } },
});

const idOf = (body: ReceivedDelivery["body"]) => String((body.data as unknown as Record<string, unknown>).messageId);
const messageIdOf = (d: ReceivedDelivery) => dataField(d, "messageId");

/** The messages of one chat, in the order the receiver first accepted each (retries de-duplicated). */
function firstAccepted(receiver: Receiver, chatId: string): string[] {
  const seen = new Set<string>();
  for (const d of receiver.deliveries) {
    if (d.status === 200 && dataField(d, "chatId") === chatId) seen.add(messageIdOf(d));
  }
  return [...seen];
}

describe("ordered delivery per conversation (real Redis, in-process worker)", () => {
  let receiver: Receiver;
  let redis: Redis;
  let running: { worker: RunningWorker; callbacks: Queue<CallbackJobData>; deliveries: Queue<DeliveryJobData> } | null =
    null;

  beforeAll(async () => {
    receiver = await startReceiver();
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  });
  afterEach(async () => {
    receiver.answer = null;
    if (!running) return;
    await running.worker.close();
    await running.callbacks.close();
    await running.deliveries.close();
    running = null;
  });
  afterAll(async () => {
    await redis.quit();
    await receiver.close();
  });

  async function start(
    onFailure: OrderedFailurePolicy,
    attempts: number,
    env: Record<string, string> = {},
    handlers: EventHandlers = {},
    retry?: Destination["retry"],
  ) {
    const prefix = uniquePrefix("ordered");
    const config = parseEnv(workerEnv, {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: "8",
      ...env,
    });
    const worker = await startWorker(config, silent, {
      destinations: [{ ...orderedDestination(receiver.url, onFailure, attempts), ...(retry ? { retry } : {}) }],
      handlers,
    });
    const callbacks = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
    const deliveries = new Queue<DeliveryJobData>(deliveryQueueName("crm"), { connection: redis, prefix });
    running = { worker, callbacks, deliveries };
    return running;
  }

  const post = (callbacks: Queue<CallbackJobData>, bodies: CallbackJobData[]) =>
    callbacks.addBulk(bodies.map((data) => ({ name: data.kind, data, opts: callbackJobOptions("message") })));

  it("a failing head holds up its own conversation only, and is retried until it goes first", async () => {
    const { callbacks } = await start("skip", 50);
    let headFails = true;
    receiver.answer = (body) => (headFails && idOf(body) === "a-1" ? 503 : 200);
    const a = ["a-1", "a-2", "a-3", "a-4"];
    const b = ["b-1", "b-2", "b-3", "b-4"];
    await post(
      callbacks,
      a.flatMap((id, i) => [message("chat-a", id), message("chat-b", b[i]!)]),
    );

    await eventually(() => expect(firstAccepted(receiver, "chat-b")).toEqual(b));
    // a-1 has been refused more than once, and nothing after it went.
    await eventually(() =>
      expect(receiver.deliveries.filter((d) => messageIdOf(d) === "a-1").length).toBeGreaterThanOrEqual(2),
    );
    expect(receiver.deliveries.filter((d) => dataField(d, "chatId") === "chat-a").map(messageIdOf)).toEqual(
      expect.arrayContaining(["a-1"]),
    );
    expect(receiver.deliveries.some((d) => ["a-2", "a-3", "a-4"].includes(messageIdOf(d)))).toBe(false);

    headFails = false;
    await eventually(() => expect(firstAccepted(receiver, "chat-a")).toEqual(a));
  });

  it("onFailure skip: an event that fails for good stays failed, and the next ones go", async () => {
    const { callbacks, deliveries } = await start("skip", 2);
    receiver.answer = (body) => (idOf(body) === "s-2" ? 503 : 200);
    const ids = ["s-1", "s-2", "s-3", "s-4"];
    await post(
      callbacks,
      ids.map((id) => message("chat-s", id)),
    );
    await eventually(() => expect(firstAccepted(receiver, "chat-s")).toEqual(["s-1", "s-3", "s-4"]));
    const failed = await deliveries.getJob(deliveryJobId("msg_s-2"));
    expect(await failed?.getState()).toBe("failed");
    expect(failed?.attemptsMade).toBe(2);
    // s-3 went only after s-2's last attempt.
    const order = receiver.deliveries.filter((d) => dataField(d, "chatId") === "chat-s").map(messageIdOf);
    expect(order.lastIndexOf("s-2")).toBeLessThan(order.indexOf("s-3"));
  });

  it("onFailure block: the conversation waits for the failed event until it is retried and delivered", async () => {
    const { callbacks, deliveries } = await start("block", 2);
    let refuse = true;
    receiver.answer = (body) => (refuse && idOf(body) === "k-2" ? 503 : 200);
    const ids = ["k-1", "k-2", "k-3", "k-4"];
    await post(
      callbacks,
      ids.map((id) => message("chat-k", id)),
    );
    const failed = await eventually(async () => {
      const job = await deliveries.getJob(deliveryJobId("msg_k-2"));
      expect(await job?.getState()).toBe("failed");
      return job!;
    });
    // Blocked: the events behind it stay parked, nothing promotes them.
    expect(firstAccepted(receiver, "chat-k")).toEqual(["k-1"]);
    expect(await (await deliveries.getJob(deliveryJobId("msg_k-3")))?.getState()).toBe("delayed");
    expect(await (await deliveries.getJob(deliveryJobId("msg_k-4")))?.getState()).toBe("delayed");

    refuse = false;
    await failed.retry("failed");
    await eventually(() => expect(firstAccepted(receiver, "chat-k")).toEqual(ids));
  });

  it("onFailure block: removing the failed event by hand lets the conversation go on with its next one", async () => {
    const { callbacks, deliveries } = await start("block", 2);
    receiver.answer = (body) => (idOf(body) === "x-2" ? 503 : 200);
    await post(
      callbacks,
      ["x-1", "x-2", "x-3"].map((id) => message("chat-x", id)),
    );
    const failed = await eventually(async () => {
      const job = await deliveries.getJob(deliveryJobId("msg_x-2"));
      expect(await job?.getState()).toBe("failed");
      return job!;
    });
    await failed.remove();
    // x-3 stays parked until the conversation's next event finds the dead head and clears it.
    expect(await (await deliveries.getJob(deliveryJobId("msg_x-3")))?.getState()).toBe("delayed");
    await post(callbacks, [message("chat-x", "x-4")]);
    await eventually(() => expect(firstAccepted(receiver, "chat-x")).toEqual(["x-1", "x-3", "x-4"]));
  });

  it("a callback run again after its fan-out adds nothing twice and does not put a delivered event back in line", async () => {
    // Without de-duplication the callback's second run fans out again, as a platform redelivery would.
    const { callbacks, deliveries } = await start("skip", 5, { DEDUP_WINDOW: "0" });
    const [first] = await post(callbacks, [message("chat-r", "r-1")]);
    await eventually(() => expect(firstAccepted(receiver, "chat-r")).toEqual(["r-1"]));
    await eventually(async () => expect(await first!.getState()).toBe("completed"));
    // The same callback job again (a replay in the dashboard), then a new event of the chat.
    await first!.retry("completed");
    await eventually(async () => expect(await first!.getState()).toBe("completed"));
    expect((await callbacks.getJob(first!.id!))?.returnvalue).toMatchObject({ outcome: "queued" });
    await post(callbacks, [message("chat-r", "r-2")]);
    await eventually(() => expect(firstAccepted(receiver, "chat-r")).toEqual(["r-1", "r-2"]));
    // r-2's job completes just after its delivery.
    await eventually(
      async () =>
        expect(await deliveries.getJobCounts("completed", "delayed", "wait", "active")).toEqual({
          completed: 2,
          delayed: 0,
          wait: 0,
          active: 0,
        }),
      { timeoutMs: 30_000 },
    );
    expect(await redis.exists(`${deliveries.opts.prefix}:ordering:crm:chat-r`)).toBe(0);
  });

  it("waits for an older callback still fanning out in another slot, even when the newer one is queued first", async () => {
    // A code handler holds the fan-out of f-1, so that f-2 (accepted after it) reaches the
    // destination's line first, as a faster worker would.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstStarted = false;
    let firstFails = true;
    receiver.answer = (body) => (firstFails && idOf(body) === "f-1" ? 503 : 200);
    const { callbacks, deliveries } = await start(
      "skip",
      100,
      {},
      {
        "message.received": async (event, ctx) => {
          if (event.data.messageId === "f-1") {
            firstStarted = true;
            await firstHeld;
          }
          await ctx.deliver("crm");
        },
      },
    );
    await post(callbacks, [message("chat-f", "f-1"), message("chat-f", "f-2")]);
    const stateOf = async (id: string) => {
      const job = await deliveries.getJob(deliveryJobId(id));
      return { state: await job?.getState(), delay: job?.delay };
    };
    // f-2 is queued and first in its line (f-1 has not taken its turn yet), but the barrier holds
    // it: after waiting in its worker it goes to delayed for a moment, undelivered.
    await eventually(async () => {
      expect(firstStarted).toBe(true);
      expect(await stateOf("msg_f-2")).toEqual({ state: "delayed", delay: ORDERED_DELIVERY.fanOutRecheckMs });
    });
    expect(receiver.deliveries.filter((d) => dataField(d, "chatId") === "chat-f")).toEqual([]);
    // f-1 now takes its turn ahead of f-2, and fails for a while: f-2, back from delayed, finds
    // itself behind and parks until f-1 is delivered.
    releaseFirst();
    await eventually(async () => {
      expect(await stateOf("msg_f-2")).toEqual({ state: "delayed", delay: ORDERED_DELIVERY.parkedForMs });
      expect(receiver.deliveries.some((d) => idOf(d.body) === "f-1")).toBe(true);
    });
    expect(receiver.deliveries.some((d) => idOf(d.body) === "f-2")).toBe(false);
    firstFails = false;
    await eventually(() => expect(firstAccepted(receiver, "chat-f")).toEqual(["f-1", "f-2"]));
  });

  it("replaying an old event neither promotes the conversation's head nor cuts short its backoff", async () => {
    const { callbacks, deliveries } = await start("block", 5, {}, {}, { baseDelayMs: 60_000, maxDelayMs: 60_000 });
    await post(callbacks, [message("chat-replay", "old-1")]);
    const old = await eventually(async () => {
      const job = await deliveries.getJob(deliveryJobId("msg_old-1"));
      expect(job?.finishedOn).toBeDefined();
      return job!;
    });
    // The next event of the conversation fails once: the head now waits a minute for its retry.
    receiver.answer = (body) => (idOf(body) === "old-2" ? 503 : 200);
    await post(callbacks, [message("chat-replay", "old-2")]);
    await eventually(async () => {
      const head = await deliveries.getJob(deliveryJobId("msg_old-2"));
      expect(head?.attemptsMade).toBe(1);
      expect(await head?.getState()).toBe("delayed");
    });
    const firstFinish = old.finishedOn!;
    // What `relay replay` does to a completed delivery: back to wait, attempts reset.
    await old.retry("completed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    await eventually(async () => {
      const again = await deliveries.getJob(deliveryJobId("msg_old-1"));
      expect(again?.finishedOn).toBeGreaterThan(firstFinish);
      expect(await again?.getState()).toBe("completed");
    });
    expect(receiver.deliveries.filter((d) => messageIdOf(d) === "old-1")).toHaveLength(2);
    // The replay ended no turn: the head still waits for its backoff, untouched.
    const head = await deliveries.getJob(deliveryJobId("msg_old-2"));
    expect(await head?.getState()).toBe("delayed");
    expect(receiver.deliveries.filter((d) => messageIdOf(d) === "old-2")).toHaveLength(1);
  });
});
