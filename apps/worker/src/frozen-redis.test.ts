import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { eventually, startRedisServerBinary, uniquePrefix, type FreezableRedis } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker, type RunningWorker } from "./worker.ts";

/** GET with a client-side deadline, as a probe has: the answer, and how long it took. */
async function probe(url: string) {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { status: string; reason?: string };
  return { status: response.status, body, ms: performance.now() - started };
}

describe("readiness with Redis frozen (SIGSTOP on a redis-server this test owns)", () => {
  let redis: FreezableRedis;
  let ingress: RunningIngress;
  let worker: RunningWorker;
  const silent = createLogger("test", "silent");

  beforeAll(async () => {
    redis = await startRedisServerBinary();
    const prefix = uniquePrefix("frozen");
    ingress = await startIngress(
      parseEnv(ingressEnv, { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, PORT: "0", HOST: "127.0.0.1", OPS_PORT: "0" }),
      silent,
    );
    worker = await startWorker(
      parseEnv(workerEnv, { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, OPS_PORT: "0", OPS_HOST: "127.0.0.1" }),
      silent,
    );
  });
  afterAll(async () => {
    redis.thaw();
    await worker.close();
    await ingress.close();
    await redis.close();
  });

  it("answers 503 within a second on every readiness endpoint, saying Redis did not answer, and 200 once it thaws", async () => {
    const endpoints = [`${ingress.url}/readyz`, `${ingress.ops!.url}/readyz`, `${worker.ops!.url}/readyz`];
    for (const url of endpoints) expect((await probe(url)).status).toBe(200);

    redis.freeze();
    for (const url of endpoints) {
      const answer = await probe(url);
      expect(answer.status, url).toBe(503);
      // The deadline is 900 ms; the margin is for a loaded CI machine. Unbounded, it never answered.
      expect(answer.ms, url).toBeLessThan(2_000);
      expect(answer.body.reason, url).toMatch(/redis did not answer PING within 500ms/);
    }
    // Liveness never touches Redis.
    expect((await probe(`${ingress.url}/healthz`)).status).toBe(200);
    expect((await probe(`${worker.ops!.url}/healthz`)).status).toBe(200);

    redis.thaw();
    for (const url of endpoints) await eventually(async () => expect((await probe(url)).status, url).toBe(200));
  });
});
