import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CALLBACK_QUEUE,
  callbackJobOptions,
  deliveryQueueName,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { eventually, spawnApp, uniquePrefix, type AppProcess } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

describe("a job whose worker is killed with SIGKILL (real child processes)", () => {
  const prefix = uniquePrefix("stalled");
  // A downstream that holds every delivery until released: the job stays active in its worker.
  const held: ServerResponse[] = [];
  const arrivals: Array<{ at: number; id: string }> = [];
  let release = false;
  let server: Server;
  let url: string;
  let redis: Redis;
  let queue: Queue<CallbackJobData>;
  // The held job is the delivery, in the queue of the destination `default` (FORWARD_URL).
  let deliveries: Queue<DeliveryJobData>;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        arrivals.push({ at: performance.now(), id: String(req.headers["webhook-id"]) });
        if (release) res.writeHead(200).end();
        else held.push(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    deliveries = new Queue(deliveryQueueName("default"), { connection: redis, prefix });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
    await queue.close();
    await deliveries.close();
    await redis.quit();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const startWorker = async () => {
    const worker = spawnApp("worker", {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      FORWARD_URL: url,
      FORWARD_SECRET: SECRET,
      FORWARD_TIMEOUT: "60s",
      WORKER_CONCURRENCY: "1",
      // The delivery job is what is held here (a killed callback job mid-inline-attempt is
      // fan-out-crash.test.ts's): every delivery goes through the destination's queue.
      INLINE_TIMEOUT: "0",
    });
    workers.push(worker);
    await worker.waitForLog(/worker started/);
    return worker;
  };

  it(
    "runs again within seconds on another worker, twice, and is delivered, never failed",
    { timeout: 90_000 },
    async () => {
      await queue.add(
        "message",
        {
          kind: "message",
          route: "/notice",
          method: "POST",
          receivedAt: new Date().toISOString(),
          body: { data: { messageId: "held-1", type: 7 } },
        },
        callbackJobOptions("message"),
      );
      let holder = await startWorker();
      await eventually(() => expect(arrivals).toHaveLength(1));
      const recoveries: number[] = [];
      for (let death = 1; death <= 2; death++) {
        const next = await startWorker();
        const killedAt = performance.now();
        await holder.stop("SIGKILL");
        await eventually(() => expect(arrivals).toHaveLength(death + 1), { timeoutMs: 30_000 });
        recoveries.push(arrivals[death]!.at - killedAt);
        holder = next;
      }
      process.stdout.write(
        `stalled recovery after SIGKILL: ${recoveries.map((ms) => `${ms.toFixed(0)} ms`).join(", ")}\n`,
      );
      // BullMQ's defaults (30 s lock, 30 s stall check) took 30 to 60 s; the second death failed the job.
      for (const ms of recoveries) expect(ms).toBeLessThan(15_000);

      release = true;
      for (const res of held.splice(0)) if (!res.destroyed) res.writeHead(200).end();
      await eventually(async () => expect(await deliveries.getCompletedCount()).toBe(1), { timeoutMs: 15_000 });
      expect(await deliveries.getFailedCount()).toBe(0);
      expect(await queue.getCompletedCount()).toBe(1);
      expect(new Set(arrivals.map((a) => a.id))).toEqual(new Set(["msg_held-1"]));
      expect(holder.logs.some((l) => l.msg === "event delivered" && l.messageId === "held-1")).toBe(true);
      const stalledLines = workers.flatMap((w) => w.logs).filter((l) => /lost its worker/.test(String(l.msg)));
      expect(stalledLines.length).toBeGreaterThanOrEqual(2);
      for (const line of stalledLines) expect(line).toMatchObject({ eventId: "msg_held-1", messageId: "held-1" });
    },
  );
});
