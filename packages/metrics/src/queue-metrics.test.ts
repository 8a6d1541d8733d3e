import { freePort, uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createMetricsRegistry, registerQueueMetrics } from "./queue-metrics.ts";

describe("queue metrics (real Redis)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const queue = new Queue("callbacks", { connection: redis, prefix: uniquePrefix("metrics") });
  afterAll(async () => {
    await queue.close();
    await redis.quit();
  });

  it("reports 0 backlog for an empty queue, then the age of the oldest waiting job", async () => {
    const registry = createMetricsRegistry("test");
    registerQueueMetrics(registry, [{ queue, destination: "" }]);
    const backlog = async () => (await registry.getSingleMetric("yuju_queue_backlog_seconds")!.get()).values[0]?.value;
    expect(await backlog()).toBe(0);

    await queue.add("message", {}, { timestamp: Date.now() - 120_000 });
    await queue.add("message", {}, { timestamp: Date.now() - 5_000 });
    await queue.add("message", {});
    const age = await backlog();
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(130);

    const jobs = await registry.getSingleMetric("yuju_queue_jobs")!.get();
    expect(jobs.values.find((v) => v.labels.state === "waiting")?.value).toBe(3);
  });

  it("reports the memory of the Redis holding the queue, and its limit", async () => {
    const registry = createMetricsRegistry("test");
    registerQueueMetrics(registry, [{ queue, destination: "" }]);
    const text = await registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name}\\{app="test"\\} (\\S+)$`, "m").exec(text)?.[1]);
    const info = await redis.info("memory");
    const maxmemory = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
    const system = Number(/^total_system_memory:(\d+)/m.exec(info)?.[1]);
    expect(value("yuju_redis_memory_used_bytes")).toBeGreaterThan(100_000);
    expect(value("yuju_redis_memory_limit_bytes")).toBe(maxmemory > 0 ? maxmemory : system);
  });

  it("still answers /metrics without queue figures while Redis is unreachable", async () => {
    const unreachable = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    unreachable.on("error", () => {});
    const away = new Queue("callbacks", { connection: unreachable, prefix: uniquePrefix("metricsaway") });
    away.on("error", () => {});
    const registry = createMetricsRegistry("test");
    registerQueueMetrics(registry, [{ queue: away, destination: "" }]);
    const text = await registry.metrics();
    expect(text).toContain("yuju_process_cpu_seconds_total");
    expect(text).not.toMatch(/yuju_queue_jobs\{/);
    // An unlabelled gauge with no figure reads 0: YujuRedisMemoryHigh's ratio (0 / 0) never fires on it.
    expect(text).toMatch(/^yuju_redis_memory_limit_bytes\{app="test"\} 0$/m);
    await away.close().catch(() => {});
    unreachable.disconnect();
  });
});
