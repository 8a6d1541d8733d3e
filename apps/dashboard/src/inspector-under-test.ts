import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDestinations, parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { readEventRecord, type RedisClient } from "@yuju-relay/queue";
import {
  eventually,
  sendCallback,
  startMockPlatform,
  startReceiver,
  TEST_SIGNING_SECRET,
  uniquePrefix,
} from "@yuju-relay/testing";
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
/** The send API's key (RELAY_API_KEYS) and the platform's (PLATFORM_API_KEY), which no page may show. */
export const RELAY_API_KEY = "relay-api-key-0123456789abcdef";
export const PLATFORM_KEY = "platform-secret-key-0123456789";
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
  const platform = await startMockPlatform();
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
  const config = parseEnv(workerEnv, {
    ...env,
    WORKER_CONCURRENCY: "4",
    PLATFORM_API_URL: platform.url,
    PLATFORM_API_KEY: PLATFORM_KEY,
  });
  const worker = await startWorker(config, silent, {
    destinations: loadDestinations(config, { env: { DEST_SECRET: TEST_SIGNING_SECRET } }),
  });
  const ingress = await startIngress(
    parseEnv(ingressEnv, {
      ...env,
      PORT: "0",
      HOST: "127.0.0.1",
      CALLBACK_TOKEN,
      API_PORT: "0",
      RELAY_API_KEYS: RELAY_API_KEY,
    }),
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
    platform,
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
    /** POSTs a send to the ingress's send API (POST /v1/messages); resolves with its answer. */
    async sendMessage(body: Record<string, unknown>) {
      const res = await fetch(`${ingress.apiUrl}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${RELAY_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { id: string; status: string } };
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
      await platform.close();
    },
  };
}
