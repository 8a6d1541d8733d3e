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

export interface MeasuredQueue {
  queue: Queue;
  /** The destination a delivery queue serves; empty for the callbacks queue. */
  destination: string;
}

/**
 * Queue depth by state and the age of the oldest waiting job, for each queue (the callbacks queue
 * and every destination's), read from Redis at scrape time (not on the hot path). Depth alone does
 * not tell a burst from a stuck worker; the backlog age does. With them, the memory of the Redis
 * that holds the queues.
 */
export function registerQueueMetrics(registry: Registry, queues: readonly MeasuredQueue[]): void {
  new Gauge({
    name: "yuju_queue_jobs",
    help: "Jobs in the queue, by state",
    labelNames: ["queue", "destination", "state"],
    registers: [registry],
    async collect() {
      for (const { queue, destination } of queues) {
        // Redis away: no queue figures (rather than stale ones), and the rest of /metrics still
        // answers, the ingress's spool figures above all.
        const counts = await queue.getJobCounts(...STATES).catch(() => null);
        if (!counts) return this.reset();
        for (const state of STATES) this.set({ queue: queue.name, destination, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: "yuju_queue_backlog_seconds",
    help: "Age of the oldest job waiting to be processed (0 when none waits)",
    labelNames: ["queue", "destination"],
    registers: [registry],
    async collect() {
      for (const { queue, destination } of queues) {
        // getWaiting reads in ascending order (oldest first).
        const waiting = await queue.getWaiting(0, 0).catch(() => null);
        if (!waiting) return this.reset();
        const [oldest] = waiting;
        const age = oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0;
        this.set({ queue: queue.name, destination }, age);
      }
    },
  });
  // Every queue lives in the same Redis: its memory is read through the first.
  if (queues[0]) registerRedisMemoryMetrics(registry, queues[0].queue);
}
