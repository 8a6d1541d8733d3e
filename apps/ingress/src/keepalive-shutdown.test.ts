import { Agent, request } from "node:http";
import { CALLBACK_QUEUE } from "@yuju-relay/queue";
import { freePort, spawnApp, uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";

interface Outcome {
  status: number;
  error?: string;
  connection?: string;
}

function post(url: string, agent: Agent, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      res.on("error", (error) => resolve({ status: 0, error: error.message }));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ status: 0, error: error.code ?? error.message }));
    req.end(body);
  });
}

/**
 * A request that is surely in flight: `Expect: 100-continue` makes the server answer "continue" once
 * it has read the headers, and the body goes only when `finish` is called.
 */
function heldPost(url: string, body: string) {
  const req = request(url, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), expect: "100-continue" },
  });
  const answered = new Promise<Outcome>((resolve) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ status: 0, error: error.code ?? error.message }));
  });
  const continued = new Promise<void>((resolve) => req.once("continue", () => resolve()));
  req.flushHeaders();
  return {
    continued,
    finish: () => {
      req.end(body);
      return answered;
    },
  };
}

describe("ingress SIGTERM under keep-alive load (real child process)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  afterAll(() => redis.quit());

  it("answers what is in flight with Connection: close, exits within a second, and every stored callback got its 200", async () => {
    const prefix = uniquePrefix("keepalive");
    const port = await freePort();
    const ingress = spawnApp("ingress", {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_TIMEOUT: "10s",
    });
    await ingress.waitForLog(/ingress listening/);

    const outcomes = new Map<string, Outcome>();
    let sent = 0;
    let running = true;
    // 16 keep-alive clients, each sending its next callback as soon as the last is answered, until
    // the ingress is gone (connection refused).
    const clients = Array.from({ length: 16 }, async (_, c) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (running) {
        const id = `ka-${c}-${sent++}`;
        const outcome = await post(`http://127.0.0.1:${port}/notice`, agent, `{"data":{"messageId":"${id}","type":7}}`);
        outcomes.set(id, outcome);
        if (outcome.error === "ECONNREFUSED") break;
      }
      agent.destroy();
    });
    while ([...outcomes.values()].filter((o) => o.status === 200).length < 400) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // One request whose headers the ingress has read, and whose body comes only after SIGTERM.
    const held = heldPost(`http://127.0.0.1:${port}/notice`, '{"data":{"messageId":"held-1","type":7}}');
    await held.continued;
    const signalled = performance.now();
    const stopped = ingress.stop("SIGTERM");
    await ingress.waitForLog(/shutting down/);
    const heldOutcome = await held.finish();
    outcomes.set("held-1", heldOutcome);
    const code = await stopped;
    const drainMs = performance.now() - signalled;
    running = false;
    await Promise.all(clients);
    process.stdout.write(`keep-alive drain: SIGTERM to exit ${drainMs.toFixed(0)} ms, ${outcomes.size} requests\n`);

    expect(code).toBe(0);
    // SHUTDOWN_TIMEOUT is 10 s: the drain ends by itself, as each connection's answer is written.
    expect(drainMs).toBeLessThan(3_000);
    // In flight at SIGTERM: answered, stored, and told to close its connection.
    expect(heldOutcome).toEqual({ status: 200, connection: "close" });

    const queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    const stored = (await queue.getJobs(["wait"], 0, -1)).map(
      (j) => (j.data as { body: { data: { messageId: string } } }).body.data.messageId,
    );
    await queue.close();
    const acknowledged = [...outcomes].filter(([, o]) => o.status === 200).map(([id]) => id);
    // Every callback stored was answered 200 (none cut after its answer was written), and every 200 is stored.
    expect(stored.filter((id) => outcomes.get(id)?.status !== 200)).toEqual([]);
    expect(new Set(stored)).toEqual(new Set(acknowledged));
  });
});
