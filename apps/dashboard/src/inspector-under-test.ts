import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDestinations, parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { readEventRecord, type RedisClient } from "@yuju-relay/queue";
import { eventually, sendCallback, startReceiver, TEST_SIGNING_SECRET, uniquePrefix } from "@yuju-relay/testing";
import { startWorker, workerEnv } from "@yuju-relay/worker";
import { expect } from "vitest";
import { dashboardEnv } from "./config.ts";
import { startDashboard, type RunningDashboard } from "./dashboard.ts";

/**
 * For the inspector's tests: the real ingress, worker and dashboard on the run's Redis, two
 * destinations at real receivers: `crm` takes every message, `archive` only images (so a text
 * message is filtered for it).
 */
export const USER = "admin";
export const PASSWORD = "correct-horse-battery";
export const CALLBACK_TOKEN = "tenant-token-0123456789";
const silent = createLogger("test", "silent");

/** A text message as the platform sends it, in Chinese, with a contact and a chat. */
export function chineseMessage(messageId: string, chatId: string, token = CALLBACK_TOKEN): string {
  return JSON.stringify({
    data: {
      messageId,
      chatId,
      contactName: "赵建国",
      contactId: "7881300555512345",
      payload: { text: "在吗？我想开一张发票，抬头是杭州语聚科技有限公司。" },
      type: 7,
      timestamp: String(Date.now()),
      token,
      botWxid: "1688857012345678",
      isSelf: false,
      roomId: "",
    },
  });
}

export async function startInspectorUnderTest(redisUrl: string, redis: RedisClient) {
  const prefix = uniquePrefix("inspect");
  const crm = await startReceiver();
  const archive = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), "inspector-"));
  const file = join(dir, "relay.yaml");
  writeFileSync(
    file,
    [
      "destinations:",
      "  - name: crm",
      `    url: ${crm.url}`,
      "    secret: ${DEST_SECRET}",
      "    retry: { baseDelay: 20ms, maxDelay: 1s }",
      "  - name: archive",
      `    url: ${archive.url}`,
      "    secret: ${DEST_SECRET}",
      "    filter: { kinds: [image] }",
      "",
    ].join("\n"),
  );
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, RELAY_CONFIG: file };
  const config = parseEnv(workerEnv, { ...env, WORKER_CONCURRENCY: "4" });
  const worker = await startWorker(config, silent, {
    destinations: loadDestinations(config, { env: { DEST_SECRET: TEST_SIGNING_SECRET } }),
  });
  const ingress = await startIngress(
    parseEnv(ingressEnv, { ...env, PORT: "0", HOST: "127.0.0.1", CALLBACK_TOKEN }),
    silent,
  );
  const dashboardOf = (extra: Record<string, string> = {}) =>
    startDashboard(
      parseEnv(dashboardEnv, {
        ...env,
        DASHBOARD_PORT: "0",
        HOST: "127.0.0.1",
        DASHBOARD_USER: USER,
        DASHBOARD_PASSWORD: PASSWORD,
        ...extra,
      }),
      silent,
    );
  const dashboard = await dashboardOf();
  const extraDashboards: RunningDashboard[] = [];

  return {
    prefix,
    crm,
    archive,
    dashboard,
    async readOnlyDashboard() {
      const own = await dashboardOf({ DASHBOARD_READ_ONLY: "true" });
      extraDashboards.push(own);
      return own;
    },
    /** POSTs a body to /notice; resolves with the ingress's status. */
    async send(body: string) {
      return (await sendCallback(`${ingress.url}/notice`, body)).status;
    },
    /** Resolves once the worker's record of the event holds `attempts` attempts to crm. */
    async recorded(eventId: string, attempts: number) {
      await eventually(async () => {
        const record = await readEventRecord(redis, prefix, eventId);
        expect(record?.summary?.id).toBe(eventId);
        expect(record!.attempts.filter((a) => a.destination === "crm")).toHaveLength(attempts);
      });
    },
    async close() {
      for (const own of extraDashboards) await own.close();
      await dashboard.close();
      await ingress.close();
      await worker.close();
      await crm.close();
      await archive.close();
    },
  };
}
