import { Redis } from "ioredis";
import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRefusalLog, readRefusals, redactTokens, REFUSALS_KEPT } from "./refusal-log.ts";

describe("refusal log", () => {
  const redis = new Redis(inject("redisUrl"));
  afterAll(() => redis.quit());

  it("removes every token, however its key is written and even when the body is cut short", () => {
    expect(redactTokens('{"data":{"token":"s3cret","text":"在吗"}}')).toBe(
      '{"data":{"token":"[removed]","text":"在吗"}}',
    );
    expect(redactTokens('{"\\u0074oken" : "s3cret"}')).not.toContain("s3cret");
    expect(redactTokens('{"a":1,"token":"s3cr')).toBe('{"a":1,"token":"[removed]"');
    expect(redactTokens('{"token": 12345}')).not.toContain("12345");
  });

  it("keeps the last 1000 per status, newest first, each body cut to 1 KB, written by a timer", async () => {
    const prefix = uniquePrefix("refusals");
    const log = createRefusalLog(redis, prefix, 60_000);
    const refuse = (n: number) =>
      log.record({
        status: 401,
        reason: "invalid token",
        ip: "10.0.0.1",
        path: "/notice",
        body: `{"n":${n},"token":"t"}`,
      });
    await redis.ping();
    for (let i = 0; i < 600; i++) refuse(i);
    // Buffered, not written: the request path never waits on Redis.
    expect(await readRefusals(redis, prefix, 401)).toEqual([]);
    await log.flush();
    for (let i = 600; i < 1_200; i++) refuse(i);
    log.record({ status: 422, reason: "nested too deep", ip: "10.0.0.2", path: "/notice", body: "x".repeat(5_000) });
    await log.close();
    const refused = await readRefusals(redis, prefix, 401);
    expect(refused).toHaveLength(REFUSALS_KEPT);
    expect(refused.map((r) => JSON.parse(r.bodyExcerpt!).n)).toContain(1_199);
    expect(refused.map((r) => JSON.parse(r.bodyExcerpt!).n)).not.toContain(199);
    expect(refused[0]).toMatchObject({ status: 401, ip: "10.0.0.1", path: "/notice" });
    expect(refused[0]!.bodyExcerpt).toContain('"token":"[removed]"');
    const [deep] = await readRefusals(redis, prefix, 422);
    expect(Buffer.byteLength(deep!.bodyExcerpt!)).toBe(1_024);
  });
});
