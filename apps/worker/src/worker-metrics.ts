import { isFinalFailure, type CallbackJobData } from "@yuju-relay/queue";
import type { Job, Queue } from "bullmq";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type DeliveryOutcome = "delivered" | "retrying" | "failed" | "rate_limited" | "paused";

/** The worker's own metrics (queue depth and backlog age come from @yuju-relay/metrics). */
export function createWorkerMetrics(registry: Registry) {
  const jobs = new Counter({
    name: "yuju_jobs_processed_total",
    help: "Callback jobs finished by this worker, by outcome (queued, unmatched, handled, duplicate, retrying, failed)",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "yuju_deliveries_total",
    help: "Delivery attempts by destination and outcome (delivered, retrying, failed, rate_limited, paused)",
    labelNames: ["destination", "outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "yuju_delivery_duration_seconds",
    help: "Time for a destination to answer a signed delivery, by destination and status class",
    labelNames: ["destination", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const pauses = new Counter({
    name: "yuju_destination_pauses_total",
    help: "Times a destination was paused because it answered 410 Gone",
    labelNames: ["destination"],
    registers: [registry],
  });

  return {
    // The kind is the job's data, not its name: the name is for people (callbackJobName).
    callbackFinished(job: Job<CallbackJobData>, outcome: string) {
      jobs.inc({ kind: job.data.kind, outcome });
    },
    callbackFailed(job: Job<CallbackJobData>, error: Error) {
      jobs.inc({ kind: job.data?.kind ?? "unknown", outcome: isFinalFailure(job, error) ? "failed" : "retrying" });
    },
    delivery(destination: string, outcome: DeliveryOutcome) {
      deliveries.inc({ destination, outcome });
    },
    answered(destination: string, status: number, durationMs: number) {
      duration.observe({ destination, status: `${Math.floor(status / 100)}xx` }, durationMs / 1000);
    },
    paused(destination: string) {
      pauses.inc({ destination });
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** 1 while a destination is paused (410, or by hand), read from Redis at scrape time. */
export function registerPausedGauge(registry: Registry, queues: ReadonlyMap<string, Queue>): void {
  new Gauge({
    name: "yuju_destination_paused",
    help: "1 while the destination's queue is paused (it answered 410 Gone, or someone paused it)",
    labelNames: ["destination"],
    registers: [registry],
    async collect() {
      for (const [destination, queue] of queues) this.set({ destination }, (await queue.isPaused()) ? 1 : 0);
    },
  });
}
