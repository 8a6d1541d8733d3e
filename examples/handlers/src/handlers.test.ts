import { fileURLToPath } from "node:url";
import { parseEnv, parseRelayConfig } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { eventually, startReceiver, uniquePrefix, type Receiver } from "@yuju-relay/testing";
import { loadHandlersModule, startWorker, workerEnv, type RunningWorker } from "@yuju-relay/worker";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const MODULE = fileURLToPath(new URL("./handlers.ts", import.meta.url));

const message = (messageId: string, data: Record<string, unknown>): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { data: { messageId, type: 7, payload: { text: "报价单收到了吗" }, ...data } },
});

describe("examples/handlers, loaded as HANDLERS_MODULE by a real worker", () => {
  const prefix = uniquePrefix("examplehandlers");
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
  let crm: Receiver;
  let archive: Receiver;
  let worker: RunningWorker;
  beforeAll(async () => {
    crm = await startReceiver();
    archive = await startReceiver();
    const destinations = parseRelayConfig(
      `destinations:
  - name: crm
    url: ${crm.url}
    secret: \${CRM_SECRET}
  - name: archive
    url: ${archive.url}
    secret: \${CRM_SECRET}
`,
      {
        env: { CRM_SECRET: SECRET },
        resolveSecrets: true,
        defaults: { timeoutMs: 5_000, attempts: 3, retry: { baseDelayMs: 50, maxDelayMs: 100 } },
      },
    );
    worker = await startWorker(
      parseEnv(workerEnv, { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: prefix }),
      createLogger("worker", "silent"),
      { destinations, handlers: await loadHandlersModule(MODULE) },
    );
  });
  afterAll(async () => {
    await worker.close();
    await queue.close();
    await redis.quit();
    await crm.close();
    await archive.close();
  });

  it("skips the account's own messages, tags key-account rooms, delivers to the crm only", async () => {
    await queue.add("message", message("own-1", { isSelf: true }), callbackJobOptions("message"));
    await queue.add("message", message("vip-1", { roomId: "R:10696052297646433" }), callbackJobOptions("message"));
    await queue.add("message", message("plain-1", { roomId: "R:other" }), callbackJobOptions("message"));

    const results = await eventually(async () => {
      const completed = await queue.getCompleted();
      expect(completed).toHaveLength(3);
      return Object.fromEntries(completed.map((j) => [(j.returnvalue as { eventId: string }).eventId, j.returnvalue]));
    });
    expect(results["msg_own-1"]).toMatchObject({
      outcome: "handled",
      destinations: [],
      result: { skipped: "own message" },
    });
    expect(results["msg_vip-1"]).toMatchObject({
      outcome: "handled",
      destinations: ["crm"],
      result: { tags: ["key-account"] },
    });

    await eventually(() => expect(crm.deliveries).toHaveLength(2));
    const webhook = new Webhook(SECRET);
    const received = Object.fromEntries(
      crm.deliveries.map((d) => {
        webhook.verify(d.raw, d.headers as Record<string, string>);
        return [String(d.headers["webhook-id"]), d.body.data as unknown as { tags: string[]; messageId: string }];
      }),
    );
    expect(received["msg_vip-1"]).toMatchObject({ messageId: "vip-1", tags: ["key-account"] });
    expect(received["msg_plain-1"]).toMatchObject({ messageId: "plain-1", tags: [] });
    // The handler replaces the filters for messages: the archive, which has no filter, gets none.
    expect(archive.deliveries).toHaveLength(0);
  });
});
