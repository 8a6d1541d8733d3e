import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE } from "@yuju-relay/queue";
import { eventually, freePort, spawnApp, uniquePrefix, type AppProcess } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const NEW_TOKEN = "new-token-4f1c9a7d2e";
const OLD_TOKEN = "old-token-8b3e6c0f5a";
const body = (messageId: string, token: string) =>
  JSON.stringify({ data: { messageId, type: 7, payload: { text: "在吗？" }, token } });

interface Call {
  /** Local address to call from: 127.0.0.x, or ::1. */
  from?: string;
  headers?: Record<string, string>;
  /** Announce this many body bytes but send none: the answer must come without them. */
  withheldBody?: number;
}

/** One real HTTP request from a chosen local address (loopback has all of 127.0.0.0/8). */
function call(url: string, text: string, { from = "127.0.0.1", headers = {}, withheldBody }: Call = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const target = new URL(url);
    if (from === "::1") target.hostname = "[::1]";
    const req = request(target, {
      method: "POST",
      localAddress: from,
      headers: {
        "content-type": "application/json",
        "content-length": String(withheldBody ?? Buffer.byteLength(text)),
        ...headers,
      },
    });
    req.on("response", (res) => {
      let answer = "";
      res.on("data", (c: Buffer) => (answer += c.toString()));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: answer });
        req.destroy();
      });
    });
    req.on("error", reject);
    if (withheldBody === undefined) req.end(text);
    else req.flushHeaders();
  });
}

async function startIngress(env: Record<string, string>) {
  const port = await freePort();
  const ingress = spawnApp("ingress", {
    REDIS_URL: inject("redisUrl"),
    PORT: String(port),
    OPS_PORT: "0",
    LOG_LEVEL: "info",
    ...env,
  });
  const ops = await ingress.waitForLog(/ops server listening/);
  return { ingress, url: `http://127.0.0.1:${port}/notice`, opsUrl: `http://127.0.0.1:${String(ops.port)}` };
}

/** Whether this machine has IPv6 (some containers have it off): the IPv6 calls need it. */
const hasIpv6 = () =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });

const metric = async (opsUrl: string, pattern: RegExp) =>
  Number(pattern.exec(await (await fetch(`${opsUrl}/metrics`)).text())?.[1] ?? 0);

describe("who may call: CALLBACK_ALLOWED_IPS, token rotation, AUTH_FAILURE_LIMIT (real ingress process)", () => {
  const prefix = uniquePrefix("access");
  let ingress: AppProcess;
  let url: string;
  let opsUrl: string;
  let redis: Redis;
  let queue: Queue;
  let ipv6 = false;

  beforeAll(async () => {
    ipv6 = await hasIpv6();
    // HOST :: (dual stack): IPv4 callers arrive as ::ffff:127.0.0.1, which the list must read as 127.0.0.1.
    ({ ingress, url, opsUrl } = await startIngress({
      QUEUE_PREFIX: prefix,
      HOST: ipv6 ? "::" : "0.0.0.0",
      CALLBACK_ALLOWED_IPS: "127.0.0.1, 127.0.0.3/32, 2001:db8::/32",
      CALLBACK_TOKEN: `${NEW_TOKEN}, ${OLD_TOKEN}`,
      AUTH_FAILURE_LIMIT: "20",
    }));
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
  });
  afterAll(async () => {
    await ingress.stop("SIGTERM");
    await queue.close();
    await redis.quit();
  });

  it("answers 403 before reading the body to an address outside the list, IPv4 or IPv6, and stores nothing", async () => {
    const before = await queue.count();
    // 10 MB announced, none sent: the 403 comes anyway.
    const withheld = await call(url, "", { from: "127.0.0.2", withheldBody: 10_000_000 });
    expect(withheld.status).toBe(403);
    expect(JSON.parse(withheld.body)).toEqual({ error: "address not allowed" });
    expect((await call(url, body("m-403", NEW_TOKEN), { from: "127.0.0.2" })).status).toBe(403);
    if (ipv6) expect((await call(url, body("m-403-v6", NEW_TOKEN), { from: "::1" })).status).toBe(403);
    expect(await queue.count()).toBe(before);
    expect(await metric(opsUrl, /yuju_callbacks_total\{outcome="forbidden",app="ingress"\} (\d+)/)).toBe(ipv6 ? 3 : 2);
    // Logged once a minute per address: 127.0.0.2 twice refused, one line; ::1 one line.
    const lines = ingress.logs.filter((l) => /not in CALLBACK_ALLOWED_IPS/.test(String(l.msg)));
    expect(lines.map((l) => l.ip).sort()).toEqual(ipv6 ? ["127.0.0.2", "::1"] : ["127.0.0.2"]);
  });

  it("ignores X-Forwarded-For without TRUST_PROXY_HOPS: a forged header changes nothing", async () => {
    const forged = await call(url, body("m-forged", NEW_TOKEN), {
      from: "127.0.0.2",
      headers: { "x-forwarded-for": "127.0.0.1" },
    });
    expect(forged.status).toBe(403);
  });

  it("accepts both tokens of the list, and counts matches by position, never by value", async () => {
    expect((await call(url, body("m-new", NEW_TOKEN))).status).toBe(200);
    expect((await call(url, body("m-old", OLD_TOKEN))).status).toBe(200);
    expect((await call(url, body("m-new-2", NEW_TOKEN))).status).toBe(200);
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(text).toMatch(/yuju_callback_token_matches_total\{position="1",app="ingress"\} 2\n/);
    expect(text).toMatch(/yuju_callback_token_matches_total\{position="2",app="ingress"\} 1\n/);
    expect(text).not.toContain(NEW_TOKEN);
    expect(text).not.toContain(OLD_TOKEN);
  });

  it("25 wrong tokens from one address: 401 up to AUTH_FAILURE_LIMIT, then 429, while another address keeps getting 200", async () => {
    // The limit counts per clock minute: start well inside one, so that all 25 fall in it.
    await eventually(() => expect(Date.now() % 60_000).toBeLessThan(45_000), { timeoutMs: 20_000, intervalMs: 200 });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await call(url, body(`guess-${i}`, `guess-${i}-0000`), { from: "127.0.0.3" })).status);
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(5).fill(429)]);
    // The guesser is refused even with the right token; the platform's address is not affected.
    const throttled = await call(url, body("m-from-guesser", NEW_TOKEN), { from: "127.0.0.3" });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(60);
    expect(Number(throttled.headers["retry-after"])).toBeLessThanOrEqual(120);
    expect((await call(url, body("m-platform", NEW_TOKEN))).status).toBe(200);
    expect(await metric(opsUrl, /yuju_callbacks_total\{outcome="throttled",app="ingress"\} (\d+)/)).toBe(6);
    expect(await metric(opsUrl, /yuju_callbacks_total\{outcome="unauthorized",app="ingress"\} (\d+)/)).toBe(20);
    // The 401s are logged once a minute per address, and the limit once.
    const lines = ingress.logs.filter((l) => l.ip === "127.0.0.3").map((l) => String(l.msg));
    expect(lines.filter((m) => /wrong or missing token/.test(m))).toHaveLength(1);
    expect(lines.filter((m) => /reached AUTH_FAILURE_LIMIT/.test(m))).toHaveLength(1);
    expect(JSON.stringify(ingress.logs)).not.toMatch(/guess-\d+-0000|new-token|old-token/);
  }, 60_000); // up to 45 s of it waiting for the start of a minute
});

describe("behind a proxy: TRUST_PROXY_HOPS=1 (real ingress process, token from CALLBACK_TOKEN_FILE)", () => {
  let ingress: AppProcess;
  let url: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "ingress-secrets-"));
    writeFileSync(join(dir, "callback_token"), `${NEW_TOKEN}\n`);
    ({ ingress, url } = await startIngress({
      QUEUE_PREFIX: uniquePrefix("proxied"),
      HOST: "127.0.0.1",
      CALLBACK_ALLOWED_IPS: "203.0.113.0/24",
      TRUST_PROXY_HOPS: "1",
      CALLBACK_TOKEN_FILE: join(dir, "callback_token"),
    }));
  });
  afterAll(async () => {
    await ingress.stop("SIGTERM");
  });

  it("lets the X-Forwarded-For address the proxy wrote decide, not one the caller forged before it", async () => {
    const xff = (value?: string) =>
      call(url, body("m-proxied", NEW_TOKEN), { headers: value ? { "x-forwarded-for": value } : {} });
    expect((await xff("203.0.113.9")).status).toBe(200);
    expect((await xff("::ffff:203.0.113.10")).status).toBe(200);
    expect((await xff("198.51.100.1")).status).toBe(403);
    // The caller wrote the first entry; the proxy appended the address it saw.
    expect((await xff("203.0.113.9, 198.51.100.1")).status).toBe(403);
    expect((await xff("198.51.100.1, 203.0.113.9")).status).toBe(200);
    // No header: the proxy's own address (127.0.0.1), not in the list.
    expect((await xff()).status).toBe(403);
    // The token came from the file, its trailing newline dropped.
    expect(
      (await call(url, body("m-token", `${NEW_TOKEN}\n`), { headers: { "x-forwarded-for": "203.0.113.9" } })).status,
    ).toBe(401);
  });
});

describe("secrets from files at start (real child process)", () => {
  it("refuses CALLBACK_TOKEN set together with CALLBACK_TOKEN_FILE: exit 78 naming both, never the value", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ingress-secrets-"));
    writeFileSync(join(dir, "token"), "file-token-123456\n");
    const ingress = spawnApp("ingress", {
      REDIS_URL: inject("redisUrl"),
      PORT: "0",
      CALLBACK_TOKEN: "env-token-123456",
      CALLBACK_TOKEN_FILE: join(dir, "token"),
    });
    expect(await ingress.exited).toBe(78);
    const output = ingress.logs.map((l) => String(l.msg)).join("\n");
    expect(output).toMatch(/CALLBACK_TOKEN and CALLBACK_TOKEN_FILE are both set/);
    expect(output).not.toMatch(/env-token|file-token/);
  });

  it("refuses a CALLBACK_ALLOWED_IPS entry that is not an address, naming it", async () => {
    const ingress = spawnApp("ingress", {
      REDIS_URL: inject("redisUrl"),
      PORT: "0",
      CALLBACK_ALLOWED_IPS: "10.0.0.0/8, 10.0.0.300",
    });
    expect(await ingress.exited).toBe(78);
    expect(ingress.logs.map((l) => String(l.msg)).join("\n")).toMatch(
      /CALLBACK_ALLOWED_IPS: entry 2 \("10\.0\.0\.300"\) is not an IPv4 or IPv6 address/,
    );
  });
});
