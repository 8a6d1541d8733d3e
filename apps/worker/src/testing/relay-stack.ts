import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, deliveryQueueName, type CallbackJobData, type DeliveryJobData } from "@yuju-relay/queue";
import { sendCallback, spawnApp, uniquePrefix, type AppProcess, type Receiver } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";

export const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";

/** A distinct secret per destination: each receiver checks its own. */
export function secretFor(name: string): string {
  return `whsec_${Buffer.from(`secret-of-${name}-0123456789`).toString("base64")}`;
}
const secretVariable = (name: string) => `SECRET_${name.toUpperCase().replaceAll("-", "_")}`;

export interface StackDestination {
  name: string;
  receiver: Receiver;
  /** More YAML lines of this destination, indented by four spaces (filter:, rateLimit: …). */
  yaml?: string;
}

/**
 * The relay as deployed, on the test's Redis: a real ingress (in this process), `workers` worker
 * child processes reading a RELAY_CONFIG file, and one receiver per destination.
 */
export async function startRelayStack(options: {
  redisUrl: string;
  destinations: StackDestination[];
  workers: number;
  workerEnv?: Record<string, string>;
}) {
  const prefix = uniquePrefix("stack");
  const dir = mkdtempSync(join(tmpdir(), "relay-stack-"));
  const configFile = join(dir, "relay.yaml");
  const lines = ["destinations:"];
  for (const d of options.destinations) {
    lines.push(`  - name: ${d.name}`, `    url: ${d.receiver.url}`, `    secret: \${${secretVariable(d.name)}}`);
    if (d.yaml) lines.push(d.yaml.trimEnd());
  }
  writeFileSync(configFile, `${lines.join("\n")}\n`);
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: configFile,
    WORKER_CONCURRENCY: "4",
    JOB_LOCK_DURATION: "2s",
    STALLED_CHECK_INTERVAL: "500ms",
    LOG_LEVEL: "info",
    ...Object.fromEntries(options.destinations.map((d) => [secretVariable(d.name), secretFor(d.name)])),
    ...options.workerEnv,
  };
  const ingress: RunningIngress = await startIngress(
    parseEnv(ingressEnv, {
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      CALLBACK_TOKEN: TOKEN,
    }),
    createLogger("ingress", "silent"),
  );
  const workers: AppProcess[] = [];
  const startWorkerProcess = async (extra: Record<string, string> = {}) => {
    const worker = spawnApp("worker", { ...env, ...extra });
    workers.push(worker);
    await worker.waitForLog(/worker started/);
    return worker;
  };
  for (let i = 0; i < options.workers; i++) await startWorkerProcess();
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const callbacks = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
  const deliveries = new Map(
    options.destinations.map((d) => [
      d.name,
      new Queue<DeliveryJobData>(deliveryQueueName(d.name), { connection: redis, prefix }),
    ]),
  );

  return {
    prefix,
    redis,
    env,
    ingress,
    workers,
    callbacks,
    deliveries,
    startWorkerProcess,
    /** Posts a callback body (token added) to the ingress; resolves once it is acknowledged. */
    async post(body: string, path = "/notice") {
      const answer = await sendCallback(
        `${ingress.url}${path}`,
        body.replace('"token":"string"', `"token":"${TOKEN}"`),
      );
      if (answer.status !== 200) throw new Error(`ingress answered ${answer.status}`);
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop("SIGTERM")));
      await ingress.close();
      await callbacks.close();
      await Promise.all([...deliveries.values()].map((q) => q.close()));
      await redis.quit();
    },
  };
}

/** The webhook-ids a receiver accepted (2xx), each checked against its destination's own secret. */
export function acceptedIds(name: string, receiver: Receiver): string[] {
  const webhook = new Webhook(secretFor(name));
  return receiver.deliveries
    .filter((d) => d.status >= 200 && d.status < 300)
    .map((d) => {
      const headers = {
        "webhook-id": String(d.headers["webhook-id"]),
        "webhook-timestamp": String(d.headers["webhook-timestamp"]),
        "webhook-signature": String(d.headers["webhook-signature"]),
      };
      webhook.verify(d.raw, headers); // throws unless signed with this destination's secret
      return headers["webhook-id"];
    });
}
