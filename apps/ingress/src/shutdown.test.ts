import { request } from "node:http";
import { CALLBACK_QUEUE } from "@yuju-relay/queue";
import { freePort, spawnApp, uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";

/** One callback on its own connection; resolves with the status, or 0 when the connection was refused or cut. */
function postOnce(url: string, body: string): Promise<number> {
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
    req.end(body);
  });
}

describe("ingress SIGTERM (real child process)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  afterAll(() => redis.quit());

  it("keeps every callback it acknowledged while shutting down, and exits 0 in time", async () => {
    const prefix = uniquePrefix("ingressstop");
    const port = await freePort();
    const ingress = spawnApp("ingress", {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_TIMEOUT: "5s",
    });
    await ingress.waitForLog(/ingress listening/);

    const statuses = new Map<string, number>();
    let sent = 0;
    // A steady stream of callbacks; SIGTERM lands in the middle of it.
    const stream = (async () => {
      const inFlight: Promise<void>[] = [];
      while (ingress.child.exitCode === null && sent < 3000) {
        const id = `sig-${sent++}`;
        inFlight.push(
          postOnce(`http://127.0.0.1:${port}/notice`, JSON.stringify({ data: { messageId: id, type: 7 } })).then(
            (s) => void statuses.set(id, s),
          ),
        );
        if (inFlight.length >= 20) await Promise.all(inFlight.splice(0));
      }
      await Promise.all(inFlight);
    })();
    while (statuses.size < 200) await new Promise((r) => setImmediate(r));
    const stoppedAt = performance.now();
    const code = await ingress.stop("SIGTERM");
    expect(code).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(5_000);
    await stream;

    const acknowledged = [...statuses].filter(([, s]) => s === 200).map(([id]) => id);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
    // Nothing else than 200 or a refused/cut connection: never a 5xx for a callback we kept.
    expect([...statuses.values()].every((s) => s === 200 || s === 0 || s === 503)).toBe(true);
    const queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    const stored = new Set(
      (await queue.getJobs(["wait"], 0, -1)).map(
        (j) => (j.data as { body: { data: { messageId: string } } }).body.data.messageId,
      ),
    );
    await queue.close();
    for (const id of acknowledged) expect(stored.has(id), id).toBe(true);
  });
});
