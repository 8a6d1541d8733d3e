import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@yuju-relay/logging";
import { createCallbackQueue, createProducerConnection, type CallbackJobData } from "@yuju-relay/queue";
import { Spool } from "@yuju-relay/spool";
import { freePort, uniquePrefix } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { spoolingStore } from "./callback-store.ts";
import type { StoreCallback } from "./store-outcome.ts";
import { createQueueEnqueuer } from "./queue-enqueuer.ts";

const logger = createLogger("ingress", "silent");
const job = (messageId: string, extra: Record<string, unknown> = {}): CallbackJobData => ({
  kind: "message",
  route: "/notice",
  method: "POST",
  receivedAt: new Date().toISOString(),
  body: { data: { messageId, type: 7, ...extra } },
});

/** A store over a real enqueuer whose Redis is at `url`, and a real spool. */
async function storeFor(url: string) {
  const connection = createProducerConnection(url, { retryStrategy: () => null });
  connection.on("error", () => {});
  const queue = createCallbackQueue(connection, uniquePrefix("store"));
  queue.on("error", () => {});
  const spool = await Spool.open({ dir: mkdtempSync(join(tmpdir(), "yuju-store-")), maxBytes: 1 << 20, logger });
  const enqueue = createQueueEnqueuer(queue, connection, { timeoutMs: 2_000 });
  const store: StoreCallback = spoolingStore(enqueue, spool, logger);
  return {
    store,
    spool,
    queue,
    close: async () => {
      await spool.close();
      await queue.close().catch(() => {});
      connection.disconnect();
    },
  };
}

describe("spooling store: only what Redis could not take goes to the spool (real Redis, real files)", () => {
  let up: Awaited<ReturnType<typeof storeFor>>;
  let away: Awaited<ReturnType<typeof storeFor>>;
  beforeAll(async () => {
    up = await storeFor(inject("redisUrl"));
    await up.queue.waitUntilReady();
    // Nothing listens there: every enqueue fails as Redis being away does.
    away = await storeFor(`redis://127.0.0.1:${await freePort()}`);
  });
  afterAll(async () => {
    await up?.close();
    await away?.close();
  });

  it("refuses a callback that cannot be stored without spooling it, whether Redis is up or away", async () => {
    expect(await up.store(job("live"))).toMatchObject({ stored: "queue" });
    // BullMQ's JSON.stringify cannot take a BigInt: the callback itself is the problem, not Redis.
    expect(await up.store(job("bigint", { n: 1n }))).toMatchObject({ stored: false, reason: "unstorable" });
    expect(up.spool.holdsRecords).toBe(false);

    expect(await away.store(job("spooled"))).toEqual({ stored: "spool" });
    expect(away.spool.state.records).toBe(1);
    // While the spool holds anything, callbacks go straight to it; one that cannot be written is refused alone.
    expect(await away.store(job("bigint-while-spooling", { n: 1n }))).toMatchObject({
      stored: false,
      reason: "unstorable",
      error: expect.stringMatching(/cannot be stored: Do not know how to serialize a BigInt/),
    });
    expect(await away.store(job("after"))).toEqual({ stored: "spool" });
    expect(away.spool.state.records).toBe(2);
  });
});
