import { readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import {
  eventually,
  freePort,
  mountSmallFileSystem,
  smallFileSystemUnavailable,
  spawnApp,
  startPersistentRedis,
  startReceiver,
  TEST_SIGNING_SECRET as SECRET,
  uniquePrefix,
  type AppProcess,
  type ReceivedDelivery,
  type Receiver,
  type SmallFileSystem,
  type TestRedis,
} from "@yuju-relay/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const unavailable = await smallFileSystemUnavailable();
if (unavailable) {
  process.stderr.write(
    `ingress full-disk tests skipped: cannot mount a small file system (${unavailable}). ` +
      "They need root (tmpfs, or an ext4 loop file); packages/spool's tests with an injected ENOSPC still run.\n",
  );
}

const DISK_BYTES = 512 * 1024;
// A child's start (tsx compiling the app) takes seconds on a loaded 2-core machine.
const STARTUP_MS = 60_000;
// About 1.8 KB a record: the 512 KB disk holds a few hundred.
const body = (messageId: string) =>
  JSON.stringify({
    data: { messageId, chatId: "c-1", type: 7, payload: { text: `${messageId} ${"字".repeat(500)}` } },
  });
const messageIdOf = (delivery: ReceivedDelivery) => String((delivery.body.data as { messageId?: unknown }).messageId);
const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".spool"));

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

async function readyz(port: number): Promise<{ status: number; spool: string; redis: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const answer = (await res.json()) as { spool: string; redis: string };
  return { status: res.status, spool: answer.spool, redis: answer.redis };
}

/**
 * Four senders, with Redis away, until the disk is full: callbacks are sent until 20 have been
 * refused. Returns the ids acknowledged with 200, and every status in the order the answers came.
 */
async function fillTheDisk(port: number, tag: string, keepGoing = () => true) {
  const acknowledged: string[] = [];
  const statuses: number[] = [];
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (statuses.filter((s) => s !== 200).length < 20 && keepGoing()) {
        const id = `${tag}-${sent++}`;
        const status = await postOnce(`http://127.0.0.1:${port}/notice`, body(id));
        statuses.push(status);
        if (status === 200) acknowledged.push(id);
      }
    }),
  );
  return { acknowledged, statuses };
}

describe.skipIf(unavailable !== null)("spool on a 512 KB disk that fills up (real processes)", () => {
  let redis: TestRedis;
  let receiver: Receiver;
  let disk: SmallFileSystem | undefined;
  const running: AppProcess[] = [];
  const spawn = (entry: string, env: Record<string, string>) => {
    const app = spawnApp(entry, env);
    running.push(app);
    return app;
  };
  const delivered = () => new Set(receiver.deliveries.map(messageIdOf));
  // Whether this file's Redis runs: a second start on its port would leave the first one running.
  let redisUp = true;
  const stopRedis = async () => {
    await redis.stop();
    redisUp = false;
  };
  const startRedis = async () => {
    await redis.start();
    redisUp = true;
  };

  beforeAll(async () => {
    redis = await startPersistentRedis();
    receiver = await startReceiver();
  });
  afterEach(async () => {
    // The processes first: a file they hold open would keep the file system busy.
    await Promise.all(running.splice(0).map((app) => app.stop("SIGKILL")));
    await disk?.unmount();
    disk = undefined;
    if (!redisUp) await startRedis();
  });
  afterAll(async () => {
    await receiver?.close();
    await redis?.close();
  });

  it("answers 503 once full, leaves at most 2 segment files, delivers every 200; then frees the disk and spools the next outage, without a restart", async () => {
    disk = await mountSmallFileSystem(DISK_BYTES);
    const spoolDir = join(disk.dir, "spool");
    const prefix = uniquePrefix("fulldisk");
    const [port, opsPort] = [await freePort(), await freePort()];
    const common = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
    const ingress = spawn("ingress", {
      ...common,
      PORT: String(port),
      OPS_PORT: String(opsPort),
      HOST: "127.0.0.1",
      SPOOL_DIR: spoolDir,
    });
    const worker = spawn("worker", { ...common, FORWARD_URL: receiver.url, FORWARD_SECRET: SECRET });
    await ingress.waitForLog(/ingress listening/, STARTUP_MS);
    await worker.waitForLog(/worker started/, STARTUP_MS);
    // The default SPOOL_MAX_BYTES (1 GiB) on a 512 KB disk: said at start, with both figures.
    const warning = await ingress.waitForLog(/larger than the free space/);
    expect(warning).toMatchObject({ level: "warn", maxBytes: 1_073_741_824 });
    expect(warning.freeBytes).toBeLessThanOrEqual(DISK_BYTES);

    await stopRedis();
    const { acknowledged, statuses } = await fillTheDisk(port, "first");
    expect(acknowledged.length).toBeGreaterThan(100);
    await ingress.waitForLog(/the disk refused a write/);
    // 503 from the first refusal on (it is the disk, not the limit: 1 GiB is far away).
    const firstRefusal = statuses.findIndex((s) => s !== 200);
    expect(statuses.slice(firstRefusal).every((s) => s === 503)).toBe(true);
    for (let i = 0; i < 10; i++) expect(await postOnce(`http://127.0.0.1:${port}/notice`, body(`late-${i}`))).toBe(503);
    expect(segmentFiles(spoolDir).length).toBeLessThanOrEqual(2);
    expect(await readyz(port)).toEqual({ status: 503, redis: "down", spool: "failing" });

    await startRedis();
    await ingress.waitForLog(/spool drained/, 60_000);
    await eventually(() => expect([...acknowledged].filter((id) => !delivered().has(id))).toEqual([]), {
      timeoutMs: 60_000,
    });
    const { freeBytes, totalBytes } = disk.usage();
    expect(freeBytes / totalBytes).toBeGreaterThanOrEqual(0.9);
    expect(segmentFiles(spoolDir)).toEqual([]);
    await eventually(async () => expect(await readyz(port)).toEqual({ status: 200, redis: "up", spool: "empty" }));
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    const free = Number(/^yuju_spool_disk_free_bytes(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1]);
    expect(free / totalBytes).toBeGreaterThanOrEqual(0.9);

    // The next outage: spooled again (200), and delivered once Redis is back.
    await stopRedis();
    const second: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `second-${i}`;
      expect(await postOnce(`http://127.0.0.1:${port}/notice`, body(id))).toBe(200);
      second.push(id);
    }
    await startRedis();
    await eventually(() => expect(second.filter((id) => !delivered().has(id))).toEqual([]), { timeoutMs: 60_000 });
    await eventually(() => expect(segmentFiles(spoolDir)).toEqual([]));
    expect(ingress.logs.filter((l) => /damaged record/.test(String(l.msg)))).toEqual([]);
  }, 300_000);

  it("killed (-9) while the disk is full, then restarted with Redis up: every acknowledged callback delivered, no damaged record, the disk freed", async () => {
    disk = await mountSmallFileSystem(DISK_BYTES);
    const spoolDir = join(disk.dir, "spool");
    const prefix = uniquePrefix("fulldiskkill");
    const port = await freePort();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      SPOOL_DIR: spoolDir,
    };
    await stopRedis();
    const first = spawn("ingress", env);
    await first.waitForLog(/ingress listening/, STARTUP_MS);
    const alive = () => first.child.exitCode === null && first.child.signalCode === null;

    // Full, and still sent to (4 senders) when the kill lands.
    let filled = false;
    const load = fillTheDisk(port, "kill", () => alive() && !filled);
    await first.waitForLog(/the disk refused a write/, 60_000);
    filled = true;
    first.child.kill("SIGKILL");
    const { acknowledged } = await load;
    await first.exited;
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(disk.usage().freeBytes).toBeLessThan(32 * 1024);

    await startRedis();
    const second = spawn("ingress", env);
    const worker = spawn("worker", {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      FORWARD_URL: receiver.url,
      FORWARD_SECRET: SECRET,
    });
    await second.waitForLog(/spool drained/, 60_000);
    await worker.waitForLog(/worker started/, STARTUP_MS);
    await eventually(() => expect(acknowledged.filter((id) => !delivered().has(id))).toEqual([]), {
      timeoutMs: 60_000,
    });
    expect(second.logs.filter((l) => /damaged record|unreadable/.test(String(l.msg)))).toEqual([]);
    expect(segmentFiles(spoolDir)).toEqual([]);
    const { freeBytes, totalBytes } = disk.usage();
    expect(freeBytes / totalBytes).toBeGreaterThanOrEqual(0.9);
  }, 300_000);
});
