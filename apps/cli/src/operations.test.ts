import { callbackIndexKey, deliveryQueueName, CALLBACK_QUEUE } from "@yuju-relay/queue";
import { eventually, runCommand, startReceiver, type Receiver } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { messageCallback, SECRET, startRelayUnderTest } from "./relay-under-test.ts";

type Relay = Awaited<ReturnType<typeof startRelayUnderTest>>;

/** The one line a failing command writes. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

function json<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

interface DeliveryJson {
  destination: string;
  state: string;
  attemptsMade: number;
  maxAttempts: number;
  lastStatus: number | null;
  answer: string | null;
  deliveredAt: string | null;
  webhookId: string | null;
  note: string | null;
  log: string[];
}

describe("relay event, failed, stats, pause, resume, replay (real Redis, real receivers, the CLI as a child process)", () => {
  let crm: Receiver;
  let tickets: Receiver;
  let archive: Receiver;
  let relay: Relay;
  let redis: Redis;

  const deliveriesOf = async (id: string) => {
    const { code, stdout } = await relay.relay("event", id, "--json");
    expect(code).toBe(0);
    const report = json<{ deliveries: DeliveryJson[] }>(stdout);
    return Object.fromEntries(report.deliveries.map((d) => [d.destination, d]));
  };

  beforeAll(async () => {
    [crm, tickets, archive] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    // tickets refuses its first event (400: failed at once, kept for a replay); archive is down
    // (503) and waits ten minutes between attempts: its event stays "retrying".
    tickets.respondWith(400);
    archive.respondWith(...Array<number>(20).fill(503));
    relay = await startRelayUnderTest(inject("redisUrl"), [
      { name: "crm", receiver: crm, kinds: ["text"] },
      { name: "tickets", receiver: tickets, kinds: ["image"] },
      { name: "archive", receiver: archive, kinds: ["voice"], attempts: 5, baseDelay: "10m" },
    ]);
    redis = new Redis(inject("redisUrl"));
    await relay.send(messageCallback("m-delivered", 7));
    await relay.send(messageCallback("m-failed", 6));
    await relay.send(messageCallback("m-retrying", 2));
    await relay.send(JSON.stringify({ data: { messageId: "m-invalid", type: "seven" } }));
    await eventually(() => {
      expect(crm.deliveries).toHaveLength(1);
      expect(tickets.deliveries).toHaveLength(1);
      expect(archive.deliveries).toHaveLength(1);
    });
  });
  afterAll(async () => {
    await relay?.close();
    await redis?.quit();
    await Promise.all([crm, tickets, archive].map((r) => r?.close()));
  });

  it("event: a delivered message, by messageId, with its callback job and every destination", async () => {
    const { code, stdout, stderr } = await relay.relay("event", "m-delivered");
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^event msg_m-delivered \(message\.received, text\), messageId m-delivered$/m);
    expect(stdout).toMatch(
      /^callback job \d+ \[message\]: completed \(queued for crm\), received \S+, attempts 1\/15$/m,
    );
    // Delivered inline by the callback job: no delivery job, the event's record says delivered.
    expect(stdout).toMatch(/│ crm\s+│ delivered │ 1\s+│ 200\s+│ \d{4}-\S+Z │ msg_m-delivered │/);
    expect(stdout).toMatch(/│ tickets\s+│ filtered .*filter\.kinds: text not in \[image\]/);
    expect(stdout).toMatch(/^attempt crm #1 \(inline\): delivered, 200, \d+ ms/m);
    expect(stdout).not.toContain(SECRET);

    const report = json<{
      eventId: string;
      type: string;
      kind: string;
      callback: { state: string };
      deliveries: Array<{ destination: string; attempts: unknown[] }>;
    }>((await relay.relay("event", "msg_m-delivered", "--json")).stdout);
    expect(report).toMatchObject({ eventId: "msg_m-delivered", type: "message.received", kind: "text" });
    expect(report.callback.state).toBe("completed");
    // Every attempt, as data.
    expect(report.deliveries.find((d) => d.destination === "crm")!.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        inline: true,
        status: 200,
        error: null,
        outcome: "delivered",
      }),
    ]);
  });

  it("event: a failed delivery, a retrying one, and an invalid body", async () => {
    const failed = await deliveriesOf("m-failed");
    expect(failed.tickets).toMatchObject({
      state: "failed",
      attemptsMade: 1,
      lastStatus: 400,
      webhookId: "msg_m-failed",
    });
    expect(failed.tickets!.answer).toMatch(/answered 400: \{\} \(not retried\)/);

    // Its inline attempt got 503: handed to its queue, the inline attempt counted as the first.
    const retrying = await deliveriesOf("msg_m-retrying");
    expect(retrying.archive).toMatchObject({
      state: "retrying",
      attemptsMade: 1,
      maxAttempts: 5,
      lastStatus: 503,
      deliveredAt: null,
    });

    const invalid = await relay.relay("event", "m-invalid");
    expect(invalid.code).toBe(0);
    expect(invalid.stdout).toMatch(/callback job \d+ \[message\]: failed/);
    expect(invalid.stdout).toMatch(/reason: invalid message callback: data\.type: expected an integer/);
    expect(invalid.stdout).toMatch(/destinations: none: the callback job failed before its fan-out/);
    // Found without a scan: the worker indexed the failed callback job for as long as failed jobs are kept.
    const jobId = /callback job (\d+)/.exec(invalid.stdout)![1];
    expect(await redis.get(callbackIndexKey(relay.prefix, "msg_m-invalid"))).toBe(jobId);
    expect(await redis.pttl(callbackIndexKey(relay.prefix, "msg_m-invalid"))).toBeGreaterThan(13 * 86_400_000);
  });

  it("event: an unknown id exits 1 with one line; one past retention says so", async () => {
    const unknown = await relay.relay("event", "m-never-sent", "--json");
    expect(unknown.code).toBe(1);
    expect(json(unknown.stdout)).toMatchObject({ found: false, reason: "unknown" });
    expect(oneErrorLine(unknown.stderr)).toMatch(/^relay: unknown event m-never-sent: .*past retention/);

    // What retention does to a failed callback job: the job goes, the index that named it stays.
    await redis.set(callbackIndexKey(relay.prefix, "msg_m-removed"), "999999", "PX", 60_000);
    const removed = await relay.relay("event", "m-removed");
    expect(removed.code).toBe(1);
    expect(oneErrorLine(removed.stderr)).toMatch(
      /event m-removed is past retention: its callback job 999999 was removed/,
    );
  });

  it(
    "failed: a table of failed events with reasons; --destination, --since and --json filter",
    { timeout: 90_000 },
    async () => {
      const all = await relay.relay("failed");
      expect(all.code).toBe(0);
      expect(all.stdout).toMatch(/deliveries\.tickets .*msg_m-failed .*answered 400/);
      expect(all.stdout).toMatch(/callbacks .*msg_m-invalid .*invalid message callback/);
      expect(all.stdout).not.toMatch(/m-retrying|m-delivered/);

      const [ticketsOnly, future, unknown] = await Promise.all([
        relay.relay("failed", "--destination", "tickets", "--since", "1h", "--json"),
        relay.relay("failed", "--since", new Date(Date.now() + 60_000).toISOString()),
        relay.relay("failed", "--destination", "nope"),
      ]);
      const tickets = json<Array<{ eventId: string; reason: string }>>(ticketsOnly.stdout);
      expect(tickets.map((r) => r.eventId)).toEqual(["msg_m-failed"]);
      expect(future.stdout.trim()).toBe("no failed events");
      expect(unknown.code).toBe(1);
      expect(oneErrorLine(unknown.stderr)).toBe('relay: no destination named "nope" (known: crm, tickets, archive)');
    },
  );

  it("stats: depth, failures and deliveries in the last hour for each queue", { timeout: 90_000 }, async () => {
    const { code, stdout } = await relay.relay("stats", "--json");
    expect(code).toBe(0);
    const stats = Object.fromEntries(
      json<Array<Record<string, unknown> & { queue: string }>>(stdout).map((s) => [s.queue, s]),
    );
    expect(stats[CALLBACK_QUEUE]).toMatchObject({ failed: 1, completedLastHour: 3 });
    // Delivered inline: the callback job completed it, crm's queue had nothing to do.
    expect(stats[deliveryQueueName("crm")]).toMatchObject({ completedLastHour: 0, failed: 0, paused: false });
    expect(stats[deliveryQueueName("tickets")]).toMatchObject({ failed: 1, completedLastHour: 0 });
    expect(stats[deliveryQueueName("archive")]).toMatchObject({ delayed: 1, waiting: 0, oldestWaitingMs: null });
    const table = await relay.relay("stats");
    expect(table.stdout).toMatch(/│ deliveries\.crm\s+│ crm\s+│ no\s+│ 0\s+│ 0\s+│ 0\s+│ 0\s+│ -\s+│ 0\s+│/);
  });

  it("pause holds a destination's deliveries on every worker until resume", async () => {
    const paused = await relay.relay("pause", "crm");
    expect(paused).toMatchObject({ code: 0, stderr: "" });
    expect(paused.stdout).toMatch(/paused crm \(deliveries\.crm\)/);
    await relay.send(messageCallback("m-while-paused", 7));
    const queue = new Queue(deliveryQueueName("crm"), { connection: redis, prefix: relay.prefix });
    await eventually(async () => expect(await queue.getWaitingCount()).toBe(1));
    const stats = json<Array<{ queue: string; paused: boolean; waiting: number }>>(
      (await relay.relay("stats", "--json")).stdout,
    );
    expect(stats.find((s) => s.queue === "deliveries.crm")).toMatchObject({ paused: true, waiting: 1 });
    expect(crm.deliveries).toHaveLength(1);

    const resumed = await relay.relay("resume", "crm");
    expect(resumed.stdout.trim()).toBe("resumed crm: 1 waiting events go out now");
    await eventually(() => expect(crm.deliveries.map((d) => d.headers["webhook-id"])).toContain("msg_m-while-paused"));
    await queue.close();
  });

  // Seven CLI child processes and their deliveries: room for a loaded machine.
  it(
    "replay <id>: again under the same webhook-id, or --as-new under <eventId>_r<n>, each with a log line",
    { timeout: 90_000 },
    async () => {
      const before = crm.deliveries.length;
      const again = await relay.relay("replay", "m-delivered");
      expect(again.code).toBe(0);
      // Delivered inline, so no job yet: the replay adds one, from the callback job's event.
      expect(again.stdout.trim()).toBe(
        "crm: replayed (delivered inline: a delivery job added, webhook-id msg_m-delivered kept)",
      );
      await eventually(() => expect(crm.deliveries).toHaveLength(before + 1));
      expect(crm.deliveries.at(-1)!.headers["webhook-id"]).toBe("msg_m-delivered");

      const asNew = await relay.relay("replay", "m-delivered", "--as-new");
      expect(asNew.stdout).toMatch(/as new: webhook-id msg_m-delivered_r1/);
      await eventually(() => expect(crm.deliveries).toHaveLength(before + 2));
      const resent = crm.deliveries.at(-1)!;
      expect(resent.headers["webhook-id"]).toBe("msg_m-delivered_r1");
      // Signed under the new id: a Standard Webhooks receiver verifies it as it is.
      new Webhook(SECRET).verify(resent.raw, {
        "webhook-id": String(resent.headers["webhook-id"]),
        "webhook-timestamp": String(resent.headers["webhook-timestamp"]),
        "webhook-signature": String(resent.headers["webhook-signature"]),
      });
      // Each replay left a line in the job's log; `relay event` shows it, with the webhook-id used.
      await eventually(async () => expect(await jobState("crm", "msg_m-delivered")).toBe("completed"));
      const crmJob = (await deliveriesOf("m-delivered")).crm!;
      expect(crmJob).toMatchObject({ state: "delivered", webhookId: "msg_m-delivered_r1" });
      expect(crmJob.log).toEqual([
        expect.stringMatching(/^\d{4}-\S+Z relay replay m-delivered: delivered inline: a delivery job added/),
        expect.stringMatching(/^\d{4}-\S+Z relay replay m-delivered --as-new: .*webhook-id msg_m-delivered_r1$/),
      ]);

      // The refused event, once tickets takes it (its receiver answers 200 from now on).
      expect((await relay.relay("replay", "m-failed", "--destination", "tickets")).code).toBe(0);
      await eventually(async () => expect(await jobState("tickets", "msg_m-failed")).toBe("completed"));
      expect(tickets.deliveries.at(-1)).toMatchObject({ status: 200, headers: { "webhook-id": "msg_m-failed" } });

      // A delivery waiting ten minutes for its next attempt runs now.
      const promoted = await relay.relay("replay", "m-retrying");
      expect(promoted.stdout.trim()).toBe("archive: replayed (promoted: delivers now, webhook-id msg_m-retrying kept)");
      await eventually(() => expect(archive.deliveries).toHaveLength(2));

      const unknown = await relay.relay("replay", "m-never-sent");
      expect(unknown.code).toBe(1);
      expect(oneErrorLine(unknown.stderr)).toMatch(/^relay: unknown event m-never-sent/);
    },
  );

  it("misuse exits 64, a Redis that does not answer 69, a bad RELAY_CONFIG 78: each one line, no secret", async () => {
    const [usage, badSince, away, config] = await Promise.all([
      relay.relay("replay"),
      relay.relay("failed", "--since", "yesterday-ish"),
      runAgainst({ REDIS_URL: "redis://user:s3cr3t-pass@127.0.0.1:1" }, "stats"),
      runAgainst({ RELAY_CONFIG: "/nonexistent/relay.yaml" }, "stats"),
    ]);
    expect(usage.code).toBe(64);
    expect(oneErrorLine(usage.stderr)).toBe("relay: error: give an id, or --failed (see --help)");
    expect(badSince.code).toBe(64);
    expect(oneErrorLine(badSince.stderr)).toMatch(/option '--since <when>' argument 'yesterday-ish' is invalid/);
    expect(away.code).toBe(69);
    expect(oneErrorLine(away.stderr)).toBe("relay: Redis at redis://127.0.0.1:1 did not answer (ECONNREFUSED)");
    expect(config.code).toBe(78);
    expect(oneErrorLine(config.stderr)).toMatch(
      /Invalid RELAY_CONFIG \/nonexistent\/relay\.yaml: cannot read the file/,
    );
  });

  /** A delivery job's state, read from Redis directly: for waiting on the worker without running the CLI in a loop. */
  async function jobState(destination: string, jobId: string) {
    const queue = new Queue(deliveryQueueName(destination), { connection: redis, prefix: relay.prefix });
    try {
      return await (await queue.getJob(jobId))?.getState();
    } finally {
      await queue.close();
    }
  }

  function runAgainst(env: Record<string, string>, ...args: string[]) {
    return runCommand("apps/cli/src/main.ts", args, { ...relay.env, ...env });
  }
});
