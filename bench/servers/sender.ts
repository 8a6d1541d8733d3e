// A worker that drains the `sends` queue into a platform. MODE says which:
//   relay  the real worker's send path (startWorker with PLATFORM_API_URL; pacing off:
//          SEND_RATE_LIMIT=off, SEND_ACCOUNT_INTERVAL=0): its two scripts per send (turn and
//          pacing, then the record), the platform client, the chat line
//   bare   the baseline: a plain BullMQ Worker whose processor POSTs the same body to the same URL
import { parseEnv } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { SEND_QUEUE, type SendJobData } from "@yuju-relay/queue";
import { startWorker, workerEnv } from "@yuju-relay/worker";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { required, serveParent } from "./ipc.ts";

const mode = required("MODE");
const platformUrl = required("PLATFORM_API_URL");
const config = parseEnv(workerEnv, {
  REDIS_URL: required("REDIS_URL"),
  QUEUE_PREFIX: required("QUEUE_PREFIX"),
  PLATFORM_API_URL: platformUrl,
  PLATFORM_API_KEY: "bench-platform-key-0000",
  SEND_RATE_LIMIT: "off",
  SEND_ACCOUNT_INTERVAL: "0",
  SEND_CONCURRENCY: process.env.CONCURRENCY,
  KEEP_COMPLETED_COUNT: "10000",
  LOG_LEVEL: "silent",
});

let worker: Worker;
let close: () => Promise<void>;
if (mode === "bare") {
  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const url = `${platformUrl}/v1/api/ai/marketing/send/message?apiKey=${config.PLATFORM_API_KEY}`;
  worker = new Worker<SendJobData>(
    SEND_QUEUE,
    async (job) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chatId: job.data.chatId, messageType: 0, payload: job.data.message }),
        signal: AbortSignal.timeout(config.SEND_TIMEOUT),
      });
      await response.text();
      if (!response.ok) throw new Error(`platform answered ${response.status}`);
    },
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.SEND_CONCURRENCY,
      removeOnComplete: { age: Math.ceil(config.KEEP_COMPLETED_AGE / 1000), count: config.KEEP_COMPLETED_COUNT },
      removeOnFail: { age: Math.ceil(config.KEEP_FAILED_AGE / 1000), count: config.KEEP_FAILED_COUNT },
    },
  );
  await worker.waitUntilReady();
  close = async () => {
    await worker.close();
    await connection.quit();
  };
} else {
  const running = await startWorker(config, createLogger("worker", "silent"), { destinations: [] });
  if (!running.sends) throw new Error("bench sender: the send worker did not start");
  worker = running.sends.worker as unknown as Worker;
  close = () => running.close();
}
serveParent({ concurrency: config.SEND_CONCURRENCY }, {}, close);
