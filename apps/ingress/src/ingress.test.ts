import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, readRefusals, type CallbackJobData } from "@yuju-relay/queue";
import { eventually, sendCallback, startOwnRedis, uniquePrefix, type TestRedis } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ingressEnv } from "./config.ts";
import { startIngress, type RunningIngress } from "./ingress.ts";

const TOKEN = "tenant-token-0123456789";
const messageBody = (messageId: string, token = TOKEN) =>
  JSON.stringify({ data: { messageId, type: 7, payload: { text: "hi" }, token } });

const post = (url: string, body: string, method = "POST") => sendCallback(url, body, method);

describe("ingress (real Redis, real HTTP)", () => {
  const prefix = uniquePrefix("ingress");
  let ingress: RunningIngress;
  let queue: Queue<CallbackJobData>;
  let redis: Redis;

  beforeAll(async () => {
    const config = parseEnv(ingressEnv, {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      CALLBACK_TOKEN: TOKEN,
      BODY_LIMIT: "2048",
      OPS_PORT: "0",
    });
    ingress = await startIngress(config, createLogger("ingress", "silent"));
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
  });
  afterAll(async () => {
    await ingress.close();
    await queue.close();
    await redis.quit();
  });

  it("answers 200 {} once the job is in Redis, and stores the body without the token", async () => {
    const answer = await post(`${ingress.url}/notice`, messageBody("m-accepted"));
    expect(answer).toMatchObject({ status: 200, body: {} });
    const jobs = await queue.getJobs(["wait", "active", "completed", "failed", "delayed"]);
    const job = jobs.find((j) => JSON.stringify(j.data).includes("m-accepted"));
    // Bull Board lists jobs by name: the kind and the message id, to find one message by searching for it.
    expect(job?.name).toBe("message m-accepted");
    expect(job?.data).toMatchObject({ kind: "message", route: "/notice", method: "POST" });
    expect(JSON.stringify(job?.data)).not.toContain(TOKEN);
    expect(job?.opts.attempts).toBe(15);
  });

  it("parses the JSON body of a GET (the platform's documented method)", async () => {
    const answer = await post(`${ingress.url}/notice`, messageBody("m-get"), "GET");
    expect(answer.status).toBe(200);
    const jobs = await queue.getJobs(["wait", "active", "completed"]);
    expect(jobs.some((j) => JSON.stringify(j.data).includes("m-get") && j.data.method === "GET")).toBe(true);
  });

  it("refuses a wrong or missing token with 401 and queues nothing", async () => {
    const before = await queue.count();
    expect((await post(`${ingress.url}/notice`, messageBody("m-wrong", "not-the-token"))).status).toBe(401);
    expect((await post(`${ingress.url}/room/left`, JSON.stringify({ imRoomId: "r", leftMember: [] }))).status).toBe(
      401,
    );
    expect(await queue.count()).toBe(before);
  });

  it("keeps each refusal for the dashboard, without the token, and a 413 without its body", async () => {
    const guess = "guessed-token-9876";
    expect((await post(`${ingress.url}/notice`, messageBody("m-refused", guess))).status).toBe(401);
    expect((await post(`${ingress.url}/notice`, "x".repeat(4_096))).status).toBe(413); // counted in the metrics test
    await eventually(async () => {
      const refused = await readRefusals(redis, prefix, 401);
      expect(refused.find((r) => r.bodyExcerpt?.includes("m-refused"))).toMatchObject({
        status: 401,
        reason: "invalid token",
        path: "/notice",
        ip: expect.stringMatching(/127\.0\.0\.1/),
      });
      expect(JSON.stringify(refused)).not.toContain(guess);
      expect(await readRefusals(redis, prefix, 413)).toMatchObject([{ status: 413, bodyExcerpt: null }]);
    });
  });

  it("answers 400 with a JSON error for a body that is not JSON", async () => {
    const answer = await post(`${ingress.url}/notice`, "{not json");
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/not JSON/);
  });

  it("answers 413 for a body over BODY_LIMIT", async () => {
    const answer = await post(`${ingress.url}/notice`, messageBody("x".repeat(4096)));
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatch(/larger than 2048 bytes/);
  });

  it("accepts well-formed JSON of the wrong shape, for the worker to reject visibly", async () => {
    const answer = await post(`${ingress.url}/room/joined`, JSON.stringify({ token: TOKEN, something: "else" }));
    expect(answer.status).toBe(200);
    const jobs = await queue.getJobs(["wait"]);
    expect(jobs.some((j) => j.data.kind === "unclassified" && j.name === "unclassified" && j.opts.attempts === 1)).toBe(
      true,
    );
  });

  it("classifies room bodies by shape, whatever the path", async () => {
    const leave = JSON.stringify({ token: TOKEN, imRoomId: "r-shape", leftMember: [{ imContactId: "c" }] });
    expect((await post(`${ingress.url}/room/joined`, leave)).status).toBe(200);
    const jobs = await queue.getJobs(["wait"]);
    const job = jobs.find((j) => JSON.stringify(j.data).includes("r-shape"));
    expect(job?.data.kind).toBe("room_members");
    expect(job?.name).toBe("room_members left r-shape");
  });

  it("exports callbacks by outcome, queue depth and backlog age on its ops port", async () => {
    const text = await (await fetch(`${ingress.ops!.url}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(value(/yuju_callbacks_total\{outcome="accepted",app="ingress"\} (\d+)/)).toBeGreaterThanOrEqual(2);
    expect(value(/yuju_callbacks_total\{outcome="unauthorized",app="ingress"\} (\d+)/)).toBeGreaterThanOrEqual(2);
    expect(value(/yuju_callbacks_total\{outcome="too_large",app="ingress"\} (\d+)/)).toBe(2); // with the refusal test's
    // No worker runs here: everything accepted is still waiting, and the oldest has aged.
    expect(value(/yuju_queue_jobs\{queue="callbacks",destination="",state="waiting",app="ingress"\} (\d+)/)).toBe(
      await queue.getWaitingCount(),
    );
    expect(
      value(/yuju_queue_backlog_seconds\{queue="callbacks",destination="",app="ingress"\} ([\d.e-]+)/),
    ).toBeGreaterThan(0);
    expect((await fetch(`${ingress.ops!.url}/readyz`)).status).toBe(200);
  });

  it("serves health, readiness and 404s", async () => {
    expect((await fetch(`${ingress.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ingress.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${ingress.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${ingress.url}/notice`, { method: "PUT", body: "{}" })).status).toBe(405);
  });
});

describe("ingress when Redis goes away", () => {
  let own: TestRedis;
  let ingress: RunningIngress;

  beforeAll(async () => {
    own = await startOwnRedis();
    const config = parseEnv(ingressEnv, {
      REDIS_URL: own.url,
      QUEUE_PREFIX: uniquePrefix("outage"),
      PORT: "0",
      HOST: "127.0.0.1",
    });
    ingress = await startIngress(config, createLogger("ingress", "silent"));
  });
  afterAll(async () => {
    await ingress.close();
    await own.close();
  });

  it("answers 503 with Retry-After within 1 s while Redis is down, and 200 again once it is back", async () => {
    expect((await post(`${ingress.url}/notice`, messageBody("before"))).status).toBe(200);
    await own.stop();
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const answer = await post(`${ingress.url}/notice`, messageBody(`during-${i}`));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toBe("1");
    }
    expect((await fetch(`${ingress.url}/readyz`)).status).toBe(503);
    await own.start();
    await eventually(async () => expect((await post(`${ingress.url}/notice`, messageBody("after"))).status).toBe(200));
    expect((await fetch(`${ingress.url}/readyz`)).status).toBe(200);
  });
});
