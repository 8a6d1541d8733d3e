import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { eventually, uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker, type RunningWorker } from "./worker.ts";

const job = (messageId: string): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { data: { messageId, type: 7, payload: { text: "hi" } } },
});

describe("worker ops endpoints", () => {
  const prefix = uniquePrefix("ops");
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
  let running: RunningWorker;
  beforeAll(async () => {
    const config = parseEnv(workerEnv, {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      STALL_AFTER: "1s",
    });
    running = await startWorker(config, createLogger("worker", "silent"));
  });
  afterAll(async () => {
    await running.close();
    await queue.close();
    await redis.quit();
  });

  it("is ready while consuming, and counts jobs by outcome", async () => {
    // Named as the ingress names them: the metrics' kind label comes from the job's data.
    await queue.add("message ops-1", job("ops-1"), callbackJobOptions("message"));
    await queue.add("message ops-1", job("ops-1"), callbackJobOptions("message"));
    await eventually(async () => expect(await queue.getCompletedCount()).toBe(2));
    expect((await fetch(`${running.ops!.url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${running.ops!.url}/metrics`)).text();
    expect(text).toMatch(/yuju_jobs_processed_total\{kind="message",outcome="unmatched",app="worker"\} 1/);
    expect(text).toMatch(/yuju_jobs_processed_total\{kind="message",outcome="duplicate",app="worker"\} 1/);
  });

  it("turns unready when jobs wait and it takes none (a stuck consumer), and ready again once it resumes", async () => {
    await running.worker.pause();
    await queue.add("message", job("ops-2"), callbackJobOptions("message"));
    const unready = await eventually(async () => {
      const response = await fetch(`${running.ops!.url}/readyz`);
      expect(response.status).toBe(503);
      return (await response.json()) as { reason: string };
    });
    expect(unready.reason).toMatch(/jobs are waiting but this worker has taken none/);
    running.worker.resume();
    await eventually(async () => expect((await fetch(`${running.ops!.url}/readyz`)).status).toBe(200));
  });
});
