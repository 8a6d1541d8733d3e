import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { SEND_QUEUE, type SendJobData } from "@yuju-relay/queue";
import {
  sendCallback,
  spawnApp,
  startMockPlatform,
  uniquePrefix,
  type AppProcess,
  type MockPlatform,
  type Receiver,
} from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { secretFor } from "./relay-stack.ts";

export const API_KEY = "relay-api-key-0123456789abcdef";
export const PLATFORM_KEY = "PLATFORM-SECRET-7f3a9c1e5b2d4068";
export const CALLBACK_TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";

export interface SendStackDestination {
  name: string;
  receiver: Receiver;
  /** More YAML lines, indented by four spaces. */
  yaml?: string;
}

/**
 * The send path as deployed, on the test's Redis: the ingress with its send API (in this process,
 * its logs kept), `workers` worker child processes calling a mock platform, and destinations.
 */
export async function startSendStack(options: {
  redisUrl: string;
  workers: number;
  workerEnv?: Record<string, string>;
  destinations?: SendStackDestination[];
}) {
  const prefix = uniquePrefix("send");
  const platform: MockPlatform = await startMockPlatform();
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: prefix,
    PLATFORM_API_URL: platform.url,
    PLATFORM_API_KEY: PLATFORM_KEY,
    SEND_CONCURRENCY: "8",
    WORKER_CONCURRENCY: "4",
    JOB_LOCK_DURATION: "2s",
    STALLED_CHECK_INTERVAL: "500ms",
    LOG_LEVEL: "info",
    ...options.workerEnv,
  };
  if (options.destinations?.length) {
    const dir = mkdtempSync(join(tmpdir(), "send-stack-"));
    const configFile = join(dir, "relay.yaml");
    const lines = ["destinations:"];
    for (const d of options.destinations) {
      const variable = `SECRET_${d.name.toUpperCase().replaceAll("-", "_")}`;
      lines.push(`  - name: ${d.name}`, `    url: ${d.receiver.url}`, `    secret: \${${variable}}`);
      if (d.yaml) lines.push(d.yaml.trimEnd());
      env[variable] = secretFor(d.name);
    }
    writeFileSync(configFile, `${lines.join("\n")}\n`);
    env.RELAY_CONFIG = configFile;
  }
  const ingressLogs: string[] = [];
  const logSink = { write: (line: string) => ingressLogs.push(line) };
  const ingress: RunningIngress = await startIngress(
    parseEnv(ingressEnv, {
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      API_PORT: "0",
      RELAY_API_KEYS: `old-key-aaaaaaaaaaaaaaaa,${API_KEY}`,
      CALLBACK_TOKEN,
    }),
    createLogger("ingress", "debug", logSink),
  );
  const workers: AppProcess[] = [];
  const startWorkerProcess = async (extra: Record<string, string> = {}) => {
    const worker = spawnApp("worker", { ...env, ...extra });
    workers.push(worker);
    await worker.waitForLog(/send worker started/);
    return worker;
  };
  for (let i = 0; i < options.workers; i++) await startWorkerProcess();
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const sends = new Queue<SendJobData>(SEND_QUEUE, { connection: redis, prefix });
  const apiUrl = ingress.apiUrl!;

  return {
    prefix,
    env,
    platform,
    ingress,
    ingressLogs,
    workers,
    redis,
    sends,
    startWorkerProcess,
    /** POST /v1/messages with the API key. */
    async send(body: Record<string, unknown>, key = API_KEY) {
      const response = await fetch(`${apiUrl}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async status(id: string) {
      const response = await fetch(`${apiUrl}/v1/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    /** Posts a callback to the ingress (token added). */
    async callback(body: string) {
      const answer = await sendCallback(
        `${ingress.url}/notice`,
        body.replace('"token":"string"', `"token":"${CALLBACK_TOKEN}"`),
      );
      if (answer.status !== 200) throw new Error(`ingress answered ${answer.status}`);
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop("SIGTERM")));
      await ingress.close();
      await sends.close();
      await redis.quit();
      await platform.close();
    },
  };
}
