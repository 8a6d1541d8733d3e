import { deliveryQueueName } from "@yuju-relay/queue";
import { eventually, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startRelayStack, type RelayStack } from "../../../test-support/relay-stack.ts";

const EVENTS = 1_000;

describe("relay replay --failed: a thousand failed events delivered again (real Redis, a real receiver)", () => {
  let crm: Receiver;
  let relay: RelayStack;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    crm = await startReceiver();
    // 400 fails a delivery at once (no retry): a thousand failed events in seconds.
    crm.respondWith(...Array<number>(EVENTS).fill(400));
    relay = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: "in-process",
      requireToken: false,
      destinations: [{ name: "crm", receiver: crm }],
    });
    redis = new Redis(inject("redisUrl"));
    queue = new Queue(deliveryQueueName("crm"), { connection: redis, prefix: relay.prefix });
    const ids = Array.from({ length: EVENTS }, (_, i) => `bulk-${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => relay.post(messageCallback(id))));
    }
    await eventually(async () => expect(await queue.getFailedCount()).toBe(EVENTS), { timeoutMs: 60_000 });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    await relay?.close();
    await redis?.quit();
    await crm?.close();
  });

  it("lists them, replays them all with a summary, keeping each webhook-id and logging the command", async () => {
    const [listed, dryRun] = await Promise.all([
      relay.relay("failed", "--destination", "crm", "--limit", "3"),
      relay.relay("replay", "--failed", "--since", "1h", "--dry-run"),
    ]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.match(/│ deliveries\.crm .*answered 400/g)).toHaveLength(3);
    expect(listed.stderr.trim()).toBe("relay: showing the newest 3; --limit 0 lists them all");
    expect(dryRun.stdout).toMatch(/^would replay 1000 failed jobs since \S+: deliveries\.crm 1000$/m);
    expect(await queue.getFailedCount()).toBe(EVENTS);

    const replay = await relay.relay("replay", "--failed", "--destination", "crm", "--since", "1h");
    expect(replay.stderr).toBe("");
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(
      /^replayed 1000 of 1000 failed jobs since \S+, webhook-ids kept: deliveries\.crm 1000$/m,
    );

    // The receiver answers 200 now: every event arrives once more, under the webhook-id it had.
    await eventually(() => expect(crm.deliveries).toHaveLength(2 * EVENTS), { timeoutMs: 60_000 });
    const first = crm.deliveries.slice(0, EVENTS).map((d) => d.headers["webhook-id"]);
    const again = crm.deliveries.slice(EVENTS);
    expect(again.every((d) => d.status === 200)).toBe(true);
    expect(new Set(again.map((d) => d.headers["webhook-id"]))).toEqual(new Set(first));
    await eventually(async () => expect(await queue.getCompletedCount()).toBe(EVENTS));
    const { logs } = await queue.getJobLogs("msg_bulk-7");
    expect(logs).toEqual([
      expect.stringMatching(
        /^\d{4}-\d\d-\d\dT\S+Z relay replay --failed --destination crm --since 1h: failed job moved back to wait, webhook-id msg_bulk-7 kept$/,
      ),
    ]);

    const nothing = await relay.relay("replay", "--failed");
    expect(nothing).toMatchObject({ code: 0, stdout: "no failed jobs to replay\n" });
  }, 120_000);
});
