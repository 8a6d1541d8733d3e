import { mkdtempSync, readdirSync, statSync, truncateSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@yuju-relay/logging";
import { CALLBACK_QUEUE, type CallbackJobData } from "@yuju-relay/queue";
import { Spool } from "@yuju-relay/spool";
import {
  eventually,
  freePort,
  spawnApp,
  startPersistentRedis,
  startReceiver,
  uniquePrefix,
  type AppProcess,
  type ReceivedDelivery,
  type Receiver,
  type TestRedis,
} from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const OUTAGE_MS = 30_000;

const body = (messageId: string) =>
  JSON.stringify({ data: { messageId, chatId: "c-1", type: 7, payload: { text: `text ${messageId}` } } });
/** The message a delivery carries (every event of these tests is a message). */
const messageIdOf = (delivery: ReceivedDelivery) => String((delivery.body.data as { messageId?: unknown }).messageId);
const spoolDir = () => mkdtempSync(join(tmpdir(), "yuju-spool-outage-"));

/** One callback on a connection of its own; the status, or 0 when the connection was refused or cut. */
function postOnce(url: string, text: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(text);
  });
}

/** Message ids of every job in the queue, in the order the queue received them (ids count up). */
async function queuedIds(queue: Queue<CallbackJobData>): Promise<string[]> {
  const jobs = await queue.getJobs(["wait", "active", "completed", "failed", "delayed"], 0, -1);
  return jobs
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((job) => (job.data.body as { data: { messageId: string } }).data.messageId);
}

const running: AppProcess[] = [];
const spawn = (entry: string, env: Record<string, string>) => {
  const app = spawnApp(entry, env);
  running.push(app);
  return app;
};
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop("SIGKILL")));
});

describe("spool: Redis stopped for 30 s under steady load (real processes)", () => {
  let redis: TestRedis;
  let receiver: Receiver;
  afterAll(async () => {
    await receiver?.close();
    await redis?.close();
  });

  it("answers every callback 200, and delivers every one once Redis is back, in acceptance order, none spooled twice", async () => {
    redis = await startPersistentRedis();
    receiver = await startReceiver();
    const prefix = uniquePrefix("outage30");
    const port = await freePort();
    const common = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
    const ingress = spawn("ingress", { ...common, PORT: String(port), HOST: "127.0.0.1", SPOOL_DIR: spoolDir() });
    const worker = spawn("worker", { ...common, FORWARD_URL: receiver.url, FORWARD_SECRET: SECRET });
    await ingress.waitForLog(/ingress listening/);
    await worker.waitForLog(/worker started/);

    // Steady load: 40 callbacks a second, one after the other, so that the order in which they
    // were sent is the order in which they were acknowledged.
    const statuses: number[] = [];
    let stop = false;
    const load = (async () => {
      const started = performance.now();
      for (let k = 0; !stop; k++) {
        const due = started + k * 25;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
        statuses.push(await postOnce(`http://127.0.0.1:${port}/notice`, body(`steady-${k}`)));
      }
    })();

    await eventually(() => expect(statuses.length).toBeGreaterThan(80));
    const beforeOutage = statuses.length;
    await redis.stop();
    await ingress.waitForLog(/spooling started/);
    // The outage itself: its length is the scenario, not a wait for something to happen.
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const duringOutage = statuses.length;
    await redis.start();
    await ingress.waitForLog(/spool drained/, 30_000);
    // A little live traffic after the drain too.
    await eventually(() => expect(statuses.length).toBeGreaterThan(duringOutage + 200), { timeoutMs: 20_000 });
    stop = true;
    await load;

    expect(statuses.every((s) => s === 200)).toBe(true);
    const sent = statuses.map((_, k) => `steady-${k}`);
    await eventually(() => expect(new Set(receiver.deliveries.map(messageIdOf)).size).toBe(sent.length), {
      timeoutMs: 30_000,
    });
    const delivered = receiver.deliveries.map(messageIdOf);
    expect(new Set(delivered)).toEqual(new Set(sent));
    // Exactly once, but for what no spool can change: a job the worker was delivering as Redis went
    // away cannot be marked completed, so it runs again once Redis is back (at least once, same
    // webhook-id, README "Adding your own handler"). Those were acknowledged before the outage. No
    // spooled callback is delivered twice.
    const once = new Set<string>();
    const twice = delivered.filter((id) => once.has(id) || !once.add(id));
    const ackedBeforeOutage = new Set(sent.slice(0, beforeOutage + 1));
    expect(twice.filter((id) => !ackedBeforeOutage.has(id))).toEqual([]);
    expect(twice.length).toBeLessThanOrEqual(16); // WORKER_CONCURRENCY: at most the jobs in flight

    // The queue got them in the order they were acknowledged (a copy enqueued twice comes later).
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: client, prefix });
    const seen = new Set<string>();
    const firstArrivals = (await queuedIds(queue)).filter((id) => !seen.has(id) && seen.add(id));
    expect(firstArrivals).toEqual(sent);
    await queue.close();
    await client.quit();

    expect(ingress.logs.some((l) => l.msg === "redis cannot take callbacks: spooling them to disk")).toBe(true);
    expect(statuses.length).toBeGreaterThan(1000);
  }, 150_000);
});

describe("spool: the ingress killed (-9) while spooling and while draining (real processes)", () => {
  let redis: TestRedis;
  afterAll(async () => {
    await redis?.close();
  });

  it("delivers every acknowledged callback to the queue after each restart", async () => {
    redis = await startPersistentRedis();
    const prefix = uniquePrefix("spoolkill");
    const port = await freePort();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      SPOOL_DIR: spoolDir(),
      // Slow enough that the second kill lands in the middle of the drain.
      SPOOL_DRAIN_RATE: "100",
    };
    await redis.stop();
    const first = spawn("ingress", env);
    await first.waitForLog(/ingress listening/);

    // Eight concurrent senders, until the process is gone.
    const acknowledged: string[] = [];
    let sent = 0;
    const senders = Array.from({ length: 8 }, async () => {
      while (first.child.exitCode === null && first.child.signalCode === null) {
        const id = `kill-${sent++}`;
        if ((await postOnce(`http://127.0.0.1:${port}/notice`, body(id))) === 200) acknowledged.push(id);
      }
    });
    await eventually(() => expect(acknowledged.length).toBeGreaterThan(300));
    first.child.kill("SIGKILL");
    await Promise.all(senders);
    await first.exited;

    // Restarted with Redis still away: it finds the spool, then Redis comes back and it drains.
    const second = spawn("ingress", env);
    await second.waitForLog(/spool holds records from before the restart/);
    await redis.start();
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: client, prefix });
    await eventually(async () => expect(await queue.count()).toBeGreaterThan(60), { timeoutMs: 20_000 });
    second.child.kill("SIGKILL");
    await second.exited;
    expect(await queue.count()).toBeLessThan(acknowledged.length);

    const third = spawn("ingress", env);
    await third.waitForLog(/spool drained/, 30_000);
    const queued = await queuedIds(queue);
    const missing = acknowledged.filter((id) => !queued.includes(id));
    expect(missing).toEqual([]);
    // At worst a drain batch enqueued twice (the worker's event claims drop such copies).
    expect(queued.length - new Set(queued).size).toBeLessThanOrEqual(100);
    await queue.close();
    await client.quit();
  }, 90_000);
});

describe("spool: a torn record at the end of the spool (real process)", () => {
  it("is skipped with a log line at start, and the records before it are drained", async () => {
    const dir = spoolDir();
    const spool = await Spool.open({ dir, maxBytes: 1024 * 1024, logger: createLogger("test", "silent") });
    for (const id of ["torn-0", "torn-1", "torn-2"]) {
      const job: CallbackJobData = {
        kind: "message",
        route: "/notice",
        method: "POST",
        receivedAt: new Date().toISOString(),
        body: JSON.parse(body(id)) as unknown,
      };
      await spool.append(JSON.stringify(job));
    }
    await spool.close();
    // What a crash in the middle of the last write leaves behind.
    const segment = join(
      dir,
      readdirSync(dir).find((name) => name.endsWith(".spool"))!,
    );
    truncateSync(segment, statSync(segment).size - 9);

    const prefix = uniquePrefix("spooltorn");
    const ingress = spawn("ingress", {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      SPOOL_DIR: dir,
    });
    const line = await ingress.waitForLog(/torn record/);
    expect(line).toMatchObject({ level: "warn", offset: expect.any(Number), bytes: expect.any(Number) });
    await ingress.waitForLog(/spool drained/);
    const client = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: client, prefix });
    expect(await queuedIds(queue)).toEqual(["torn-0", "torn-1"]);
    await queue.close();
    await client.quit();
  });
});
