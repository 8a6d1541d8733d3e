// A worker that drains the queue. MODE says which:
//   app      the real worker (startWorker: zod validation, normalization, event claim), with
//            handlers that just return: no outbound I/O (DEDUP_WINDOW=0: without the event claim)
//   deliver  the real worker delivering signed events to FORWARD_URL (or RELAY_CONFIG's destinations)
//   noop     the baseline: a plain BullMQ Worker whose processor returns at once
import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE } from "@yuju-relay/queue";
import { startWorker, workerEnv, type EventHandlers } from "@yuju-relay/worker";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { required, serveParent } from "./ipc.ts";

const mode = required("MODE");
const expected = Number(process.env.EXPECT ?? "0");
const keepCompleted = process.env.KEEP_COMPLETED_COUNT ?? "10000";
const config = parseEnv(workerEnv, {
  REDIS_URL: required("REDIS_URL"),
  QUEUE_PREFIX: required("QUEUE_PREFIX"),
  REDIS_CLUSTER: process.env.REDIS_CLUSTER,
  CALLBACK_PARTITIONS: process.env.CALLBACK_PARTITIONS,
  WORKER_CONCURRENCY: process.env.CONCURRENCY,
  KEEP_COMPLETED_COUNT: keepCompleted,
  FORWARD_URL: process.env.FORWARD_URL,
  // Several destinations: a RELAY_CONFIG file, its secrets in this process's environment.
  RELAY_CONFIG: process.env.RELAY_CONFIG,
  FORWARD_SECRET: process.env.FORWARD_SECRET,
  DEDUP_WINDOW: process.env.DEDUP_WINDOW,
  LOG_LEVEL: "silent",
});
const silent = createLogger("worker", "silent");

const justReturn: EventHandlers = {
  "message.received": async () => undefined,
  "room.members_left": async () => undefined,
  "room.members_joined": async () => undefined,
};

let workers: Worker[];
let close: () => Promise<void>;
if (mode === "noop") {
  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(CALLBACK_QUEUE, async () => undefined, {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    // The same retention as startWorker's, so that both pay for it.
    removeOnComplete: { age: Math.ceil(config.KEEP_COMPLETED_AGE / 1000), count: config.KEEP_COMPLETED_COUNT },
    removeOnFail: { age: Math.ceil(config.KEEP_FAILED_AGE / 1000), count: config.KEEP_FAILED_COUNT },
  });
  await worker.waitUntilReady();
  workers = [worker];
  close = async () => {
    await worker.close();
    await connection.quit();
  };
} else {
  const running = await startWorker(config, silent, mode === "app" ? { handlers: justReturn } : {});
  // Every partition's callbacks worker (CALLBACK_PARTITIONS).
  workers = running.partitions.map((p) => p.callbacks);
  close = () => running.close();
}

// Timed from the first completion to the last, so process start-up is not in the rate.
let completed = 0;
let failed = 0;
let firstAt = 0;
let lastAt = 0;
const finished = () => {
  const now = performance.now();
  if (completed + failed === 1) firstAt = now;
  lastAt = now;
  if (expected > 0 && completed + failed === expected)
    process.send?.({ type: "drained", completed, failed, firstAt, lastAt });
};
for (const worker of workers) {
  worker.on("completed", () => {
    completed++;
    finished();
  });
  worker.on("failed", () => {
    failed++;
    finished();
  });
}
serveParent(
  { concurrency: config.WORKER_CONCURRENCY },
  { stats: () => ({ completed, failed, firstAt, lastAt }) },
  close,
);
