import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDestinations, parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { createCallbackQueue, createDeliveryQueue } from "@yuju-relay/queue";
import { runCommand, sendCallback, spawnApp, uniquePrefix, type AppProcess, type Receiver } from "@yuju-relay/testing";
import { startWorker, workerEnv, type RunningWorker } from "@yuju-relay/worker";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";

/**
 * The relay as deployed, for the tests of the worker and of the CLI: a real ingress (in this
 * process) and real workers on the test run's Redis, one receiver per destination.
 */

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

export type RelayStack = Awaited<ReturnType<typeof startRelayStack>>;

export async function startRelayStack(options: {
  redisUrl: string;
  destinations: StackDestination[];
  /**
   * Worker child processes reading a RELAY_CONFIG file (fault tests: kill one, start another), or
   * one worker in this process, faster to start and retrying fast (the CLI's tests).
   */
  workers: number | "in-process";
  workerEnv?: Record<string, string>;
  /** Whether the ingress requires CALLBACK_TOKEN (`post` adds it); without, it takes any body. */
  requireToken?: boolean;
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
  const secrets = Object.fromEntries(options.destinations.map((d) => [secretVariable(d.name), secretFor(d.name)]));
  // What the CLI gets: the worker's variables, without the secrets (it never signs).
  const cliEnv = { REDIS_URL: options.redisUrl, QUEUE_PREFIX: prefix, RELAY_CONFIG: configFile };
  const env: Record<string, string> = {
    ...cliEnv,
    WORKER_CONCURRENCY: "4",
    JOB_LOCK_DURATION: "2s",
    STALLED_CHECK_INTERVAL: "500ms",
    LOG_LEVEL: "info",
    ...secrets,
    ...options.workerEnv,
  };
  const silent = createLogger("test", "silent");
  const requireToken = options.requireToken ?? true;
  const ingress: RunningIngress = await startIngress(
    parseEnv(ingressEnv, {
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      // A loaded test machine: a slow enqueue is not what these tests are about.
      ENQUEUE_TIMEOUT: "5s",
      ...(requireToken ? { CALLBACK_TOKEN: TOKEN } : {}),
    }),
    silent,
  );
  const workers: AppProcess[] = [];
  const startWorkerProcess = async (extra: Record<string, string> = {}) => {
    const worker = spawnApp("worker", { ...env, ...extra });
    workers.push(worker);
    await worker.waitForLog(/worker started/);
    return worker;
  };
  let inProcess: RunningWorker | null = null;
  if (options.workers === "in-process") {
    const config = parseEnv(workerEnv, {
      ...cliEnv,
      WORKER_CONCURRENCY: "8",
      RETRY_BASE_DELAY: "20ms",
      ...options.workerEnv,
    });
    inProcess = await startWorker(config, silent, { destinations: loadDestinations(config, { env: secrets }) });
  } else {
    for (let i = 0; i < options.workers; i++) await startWorkerProcess();
  }
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const callbacks = createCallbackQueue(redis, prefix);
  const deliveries = new Map(options.destinations.map((d) => [d.name, createDeliveryQueue(redis, prefix, d.name)]));

  return {
    prefix,
    redis,
    /** The workers' variables, secrets included. */
    env,
    cliEnv,
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
    /** `pnpm relay …` as a real child process: exit code, stdout and stderr apart. */
    relay(...args: string[]) {
      return runCommand("apps/cli/src/main.ts", args, cliEnv);
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop("SIGTERM")));
      await ingress.close();
      await inProcess?.close();
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
