import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, createCallbackQueue, createProducerConnection, type CallbackJobData } from "@yuju-relay/queue";
import { sendCallback, uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ingressEnv } from "./config.ts";
import { UnstorableCallbackError } from "./store-outcome.ts";
import { startIngress, type RunningIngress } from "./ingress.ts";
import { createQueueEnqueuer } from "./queue-enqueuer.ts";

const message = (messageId: string, extra = "") => `{"data":{"messageId":"${messageId}","type":7${extra}}}`;
const job = (messageId: string, body: unknown = { data: { messageId, type: 7 } }): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body,
});

describe("a poison body costs its batch neighbours nothing (real Redis, real HTTP)", () => {
  const prefix = uniquePrefix("poison");
  let ingress: RunningIngress;
  let redis: Redis;
  let queue: Queue<CallbackJobData>;
  const storedIds = async () =>
    new Set(
      (await queue.getJobs(["wait"], 0, -1)).map(
        (j) => (j.data.body as { data: { messageId: string } }).data.messageId,
      ),
    );

  beforeAll(async () => {
    ingress = await startIngress(
      parseEnv(ingressEnv, {
        REDIS_URL: inject("redisUrl"),
        QUEUE_PREFIX: prefix,
        PORT: "0",
        HOST: "127.0.0.1",
        OPS_PORT: "0",
      }),
      createLogger("ingress", "silent"),
    );
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
  });
  afterAll(async () => {
    await ingress.close();
    await queue.close();
    await redis.quit();
  });

  it("answers 422 with the reason to a body nested thousands deep, and 200 to the 15 sent with it", async () => {
    const deep = message("deep", `,"payload":${"[".repeat(5000)}${"]".repeat(5000)}`);
    const answers = await Promise.all([
      sendCallback(`${ingress.url}/notice`, deep),
      ...Array.from({ length: 15 }, (_, i) => sendCallback(`${ingress.url}/notice`, message(`neighbour-${i}`))),
    ]);
    expect(answers[0]).toMatchObject({ status: 422 });
    expect(answers[0]!.body.error).toMatch(/5002 levels deep; at most 64 are accepted/);
    expect(answers.slice(1).map((a) => a.status)).toEqual(Array(15).fill(200));
    const stored = await storedIds();
    for (let i = 0; i < 15; i++) expect(stored.has(`neighbour-${i}`)).toBe(true);
    expect(stored.has("deep")).toBe(false);

    const metrics = await (await fetch(`${ingress.ops!.url}/metrics`)).text();
    expect(metrics).toMatch(/yuju_callbacks_total\{outcome="too_deep",app="ingress"\} 1\n/);
    expect(metrics).not.toMatch(/outcome="unavailable"/);
  });

  it("stores a batch's other jobs, one by one, when one of them cannot be serialized, and blames that one only", async () => {
    const connection = createProducerConnection(inject("redisUrl"));
    const own = createCallbackQueue(connection, prefix);
    try {
      await own.waitUntilReady();
      const enqueue = createQueueEnqueuer(own, connection, { timeoutMs: 2_000 });
      // Past the ingress's own checks, what BullMQ's JSON.stringify cannot take: a stack overflow and a BigInt.
      let tooDeep: unknown = 1;
      for (let i = 0; i < 20_000; i++) tooDeep = [tooDeep];
      const results = await Promise.allSettled([
        enqueue(job("batch-a")),
        enqueue(job("overflow", { data: { messageId: "overflow", payload: tooDeep } })),
        enqueue(job("batch-b")),
        enqueue(job("bigint", { data: { messageId: "bigint", n: 1n } })),
        enqueue(job("batch-c")),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
      for (const failed of [results[1], results[3]] as PromiseRejectedResult[]) {
        expect(failed.reason).toBeInstanceOf(UnstorableCallbackError);
        expect(String(failed.reason.message)).toMatch(
          /cannot be stored: (Maximum call stack|Do not know how to serialize a BigInt)/,
        );
      }
      const stored = await storedIds();
      expect(["batch-a", "batch-b", "batch-c"].every((id) => stored.has(id))).toBe(true);
    } finally {
      await own.close();
      await connection.quit();
    }
  });
});
