import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, type CallbackJobData } from "@yuju-relay/queue";
import { eventually, sendCallback, startPersistentRedis, uniquePrefix, type TestRedis } from "@yuju-relay/testing";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressEnv } from "./config.ts";
import { startIngress, type RunningIngress } from "./ingress.ts";

const TOKEN = "tenant-token-0123456789";
const messageBody = (messageId: string, text = "hi") =>
  JSON.stringify({ data: { messageId, chatId: "c-1", type: 7, payload: { text }, token: TOKEN } });
const messageIdOf = (job: Job<CallbackJobData>) => (job.data.body as { data: { messageId: string } }).data.messageId;
const spoolDir = () => mkdtempSync(join(tmpdir(), "yuju-ingress-spool-"));

interface ReadyBody {
  status: string;
  redis: string;
  spool: { state: string; callbacks: number; bytes: number; oldestSeconds: number };
}

/** Every job of the queue, in the order the queue received them (BullMQ's ids count up). */
async function jobsInArrivalOrder(queue: Queue<CallbackJobData>) {
  const jobs = await queue.getJobs(["wait", "active", "completed", "failed", "delayed"]);
  return jobs.sort((a, b) => Number(a.id) - Number(b.id));
}

async function startSpoolingIngress(redis: TestRedis, prefix: string, extra: Record<string, string> = {}) {
  const config = parseEnv(ingressEnv, {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    PORT: "0",
    HOST: "127.0.0.1",
    CALLBACK_TOKEN: TOKEN,
    OPS_PORT: "0",
    SPOOL_DIR: spoolDir(),
    ...extra,
  });
  return startIngress(config, createLogger("ingress", "silent"));
}

describe("ingress with a spool, Redis stopped and started again (real Redis, real files)", () => {
  const prefix = uniquePrefix("spool");
  let own: TestRedis;
  let ingress: RunningIngress;
  let client: Redis;
  let queue: Queue<CallbackJobData>;

  beforeAll(async () => {
    own = await startPersistentRedis();
    ingress = await startSpoolingIngress(own, prefix);
    client = new Redis(own.url, { maxRetriesPerRequest: null });
    client.on("error", () => {});
    queue = new Queue(CALLBACK_QUEUE, { connection: client, prefix });
  });
  afterAll(async () => {
    await ingress.close();
    await queue.close();
    client.disconnect();
    await own.close();
  });

  it("acknowledges while Redis is away, stays ready, and the queue gets every callback once, in acceptance order, as the live path stores it", async () => {
    const post = (id: string) => sendCallback(`${ingress.url}/notice`, messageBody(id, `text of ${id}`));
    // The same body once through Redis and once through the spool: the two jobs must be the same.
    const twin = JSON.stringify({
      data: {
        messageId: "twin",
        type: 7,
        payload: { text: "在吗？", emoji: "👍" },
        nested: [{ a: null }],
        token: TOKEN,
      },
    });
    expect((await sendCallback(`${ingress.url}/notice`, twin)).status).toBe(200);
    const ready = await fetch(`${ingress.url}/readyz`);
    expect(await ready.json()).toEqual({ status: "ready", redis: "up", spool: "empty" });
    const opsReady = await fetch(`${ingress.ops!.url}/readyz`);
    expect(await opsReady.json()).toMatchObject({
      status: "ready",
      redis: "up",
      spool: { state: "empty", callbacks: 0 },
    });

    await own.stop();
    expect((await sendCallback(`${ingress.url}/notice`, twin)).status).toBe(200);
    const sent = ["twin", "twin"];
    for (let i = 0; i < 20; i++) {
      const id = `during-${i}`;
      expect((await post(id)).status).toBe(200);
      sent.push(id);
    }
    expect(await (await fetch(`${ingress.url}/readyz`)).json()).toEqual({
      status: "ready",
      redis: "down",
      spool: "spooling",
    });
    const whileDown = await fetch(`${ingress.ops!.url}/readyz`);
    expect(whileDown.status).toBe(200);
    const body = (await whileDown.json()) as ReadyBody;
    expect(body).toMatchObject({ status: "ready", redis: "down", spool: { state: "spooling", callbacks: 21 } });
    expect(body.spool.oldestSeconds).toBeGreaterThan(0);
    const metrics = await (await fetch(`${ingress.ops!.url}/metrics`)).text();
    expect(metrics).toMatch(/yuju_spool_callbacks\{app="ingress"\} 21/);
    expect(metrics).toMatch(/yuju_callbacks_total\{outcome="spooled",app="ingress"\} 21/);

    await own.start();
    // Straight on: these go in behind the spooled ones until the spool is empty, then to Redis.
    for (let i = 0; i < 20; i++) {
      const id = `after-${i}`;
      expect((await post(id)).status).toBe(200);
      sent.push(id);
    }
    const jobs = await eventually(
      async () => {
        const all = await jobsInArrivalOrder(queue);
        expect(all).toHaveLength(sent.length);
        return all;
      },
      { timeoutMs: 15_000 },
    );
    expect(jobs.map(messageIdOf)).toEqual(sent);

    const [live, spooled] = jobs as [Job<CallbackJobData>, Job<CallbackJobData>];
    // What the worker reads: name, options and data, the acceptance time aside.
    const { receivedAt: liveAt, ...liveData } = live.data;
    const { receivedAt: spooledAt, ...spooledData } = spooled.data;
    expect(spooledData).toEqual(liveData);
    expect(spooled.name).toBe(live.name);
    expect({ ...spooled.opts, timestamp: 0 }).toEqual({ ...live.opts, timestamp: 0 });
    expect(JSON.stringify(spooledData)).not.toContain(TOKEN);
    // The time the ingress accepted it, not the time it reached the queue.
    expect(Date.parse(spooledAt)).toBeGreaterThan(Date.parse(liveAt));
    expect(Date.parse(spooledAt)).toBeLessThan(spooled.timestamp);
    await eventually(async () => {
      const after = (await (await fetch(`${ingress.ops!.url}/readyz`)).json()) as ReadyBody;
      expect(after).toMatchObject({ redis: "up", spool: { state: "empty", callbacks: 0, bytes: 0 } });
      const metrics = await (await fetch(`${ingress.ops!.url}/metrics`)).text();
      expect(Number(/yuju_spool_drained_total\{app="ingress"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(20);
    });
  });
});

describe("ingress with a full spool (real Redis, real files)", () => {
  let own: TestRedis;
  let ingress: RunningIngress;

  beforeAll(async () => {
    own = await startPersistentRedis();
    ingress = await startSpoolingIngress(own, uniquePrefix("spoolfull"), { SPOOL_MAX_BYTES: "65536" });
  });
  afterAll(async () => {
    await ingress.close();
    await own.close();
  });

  it("answers 503 with Retry-After once the spool is full, is not ready then, and takes callbacks again once drained", async () => {
    await own.stop();
    const text = "x".repeat(2000);
    const statuses: number[] = [];
    let refused;
    for (let i = 0; i < 100 && !refused; i++) {
      const answer = await sendCallback(`${ingress.url}/notice`, messageBody(`full-${i}`, text));
      statuses.push(answer.status);
      if (answer.status !== 200) refused = answer;
    }
    // About 64 KB of 2 KB callbacks, then 503.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(25);
    expect(refused).toMatchObject({ status: 503, headers: { "retry-after": "1" } });
    const ready = await fetch(`${ingress.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: "unavailable",
      reason: expect.stringMatching(/^redis connection is \w+; and the spool is full$/),
      redis: "down",
      spool: "full",
    });
    const opsReady = await fetch(`${ingress.ops!.url}/readyz`);
    expect(await opsReady.json()).toMatchObject({
      status: "unavailable",
      reason: expect.stringContaining("and the spool is full"),
      spool: { state: "full", maxBytes: 65536 },
    });

    await own.start();
    await eventually(
      async () => expect((await sendCallback(`${ingress.url}/notice`, messageBody("again"))).status).toBe(200),
      {
        timeoutMs: 15_000,
      },
    );
    await eventually(async () => expect((await fetch(`${ingress.url}/readyz`)).status).toBe(200));
  });
});
