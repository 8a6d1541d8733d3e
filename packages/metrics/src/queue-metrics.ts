import type { Queue } from "bullmq";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { registerRedisMemoryMetrics } from "./redis-memory-metrics.ts";

export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, prefix: "yuju_" });
  return registry;
}

const STATES = ["waiting", "active", "delayed", "failed", "completed", "prioritized"] as const;

/**
 * Queue depth by state and the age of the oldest waiting job, read from Redis at scrape time (not
 * on the hot path). Depth alone does not tell a burst from a stuck worker; the backlog age does.
 * With them, the memory of the Redis that holds the queue.
 */
export function registerQueueMetrics(registry: Registry, queue: Queue): void {
  new Gauge({
    name: "yuju_queue_jobs",
    help: "Jobs in the queue, by state",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts(...STATES);
      for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: "yuju_queue_backlog_seconds",
    help: "Age of the oldest job waiting to be processed (0 when none waits)",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      // getWaiting reads in ascending order (oldest first).
      const [oldest] = await queue.getWaiting(0, 0);
      this.set({ queue: queue.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
    },
  });
  registerRedisMemoryMetrics(registry, queue);
}
