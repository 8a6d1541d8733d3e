import { ConfigError, parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE, deliveryQueueName } from "@yuju-relay/queue";
import { eventually, uniquePrefix } from "@yuju-relay/testing";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dashboardEnv } from "./config.ts";
import { startDashboard, type RunningDashboard } from "./dashboard.ts";

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

describe("dashboard", () => {
  let dashboard: RunningDashboard;
  const prefix = uniquePrefix("dash");
  beforeAll(async () => {
    const config = parseEnv(dashboardEnv, {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      DASHBOARD_PORT: "0",
      HOST: "127.0.0.1",
      DASHBOARD_PASSWORD: "correct-horse",
    });
    dashboard = await startDashboard(config, createLogger("dashboard", "silent"));
  });
  afterAll(() => dashboard.close());

  it("answers 401 with a Basic challenge without credentials or with wrong ones", async () => {
    const bare = await fetch(`${dashboard.url}/`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect((await fetch(`${dashboard.url}/`, { headers: basic("admin", "wrong-password") })).status).toBe(401);
    expect((await fetch(`${dashboard.url}/api/queues`, { headers: basic("someone", "correct-horse") })).status).toBe(
      401,
    );
  });

  it("serves Bull Board with the callbacks queue and the default destination's to the right credentials", async () => {
    const page = await fetch(`${dashboard.url}/`, { headers: basic("admin", "correct-horse") });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>Yuju Relay</title>");
    const api = await fetch(`${dashboard.url}/api/queues`, { headers: basic("admin", "correct-horse") });
    expect(api.status).toBe(200);
    const { queues } = (await api.json()) as { queues: Array<{ name: string }> };
    expect(queues.map((q) => q.name)).toEqual(["callbacks", "deliveries.default", "sends"]);
  });

  it("retries a failed job (a replay after a fix), through Bull Board's own API", async () => {
    const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    const queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    const job = await queue.add("unclassified", {
      kind: "unclassified",
      route: "/notice",
      method: "POST",
      receivedAt: "",
      body: {},
    });
    const worker = new Worker(CALLBACK_QUEUE, () => Promise.reject(new Error("invalid body")), {
      connection: redis.duplicate(),
      prefix,
    });
    await eventually(async () => expect(await job.getState()).toBe("failed"));
    await worker.close();

    const headers = basic("admin", "correct-horse");
    expect((await fetch(`${dashboard.url}/api/queues/callbacks/${job.id}/retry`, { method: "PUT" })).status).toBe(401);
    const retried = await fetch(`${dashboard.url}/api/queues/callbacks/${job.id}/retry`, { method: "PUT", headers });
    expect(retried.status).toBe(204);
    expect(await job.getState()).toBe("waiting");
    await queue.close();
    await redis.quit();
  });

  it("refuses to start without a password, naming the variable", () => {
    expect(() => parseEnv(dashboardEnv, { REDIS_URL: "redis://x:1" })).toThrow(ConfigError);
    expect(() => parseEnv(dashboardEnv, { REDIS_URL: "redis://x:1" })).toThrow(/DASHBOARD_PASSWORD: is required/);
  });

  it("shows each RELAY_CONFIG destination's queue, paused ones as paused, without needing the secrets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dashboard-"));
    const file = join(dir, "relay.yaml");
    writeFileSync(
      file,
      [
        "destinations:",
        "  - name: crm",
        "    url: https://crm.example.com",
        "    secret: ${CRM_SECRET}",
        "  - name: archive",
        "    url: https://archive.example.com",
        "    secret: ${ARCHIVE_SECRET}",
        "    enabled: false",
        "",
      ].join("\n"),
    );
    const ownPrefix = uniquePrefix("dashdest");
    const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    const crm = new Queue(deliveryQueueName("crm"), { connection: redis, prefix: ownPrefix });
    await crm.pause(); // what a 410 does
    const own = await startDashboard(
      parseEnv(dashboardEnv, {
        REDIS_URL: inject("redisUrl"),
        QUEUE_PREFIX: ownPrefix,
        DASHBOARD_PORT: "0",
        HOST: "127.0.0.1",
        DASHBOARD_PASSWORD: "correct-horse",
        RELAY_CONFIG: file,
      }),
      createLogger("dashboard", "silent"),
    );
    try {
      const api = await fetch(`${own.url}/api/queues`, { headers: basic("admin", "correct-horse") });
      const { queues } = (await api.json()) as { queues: Array<{ name: string; isPaused: boolean }> };
      expect(queues.map((q) => [q.name, q.isPaused])).toEqual([
        ["callbacks", false],
        ["deliveries.crm", true],
        ["deliveries.archive", false],
        ["sends", false],
      ]);
    } finally {
      await own.close();
      await crm.close();
      await redis.quit();
    }
  });
});
