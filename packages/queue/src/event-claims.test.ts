import { createWorkerConnection } from "./connections.ts";
import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { EventClaims } from "./event-claims.ts";

describe("EventClaims (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  const prefix = uniquePrefix("claims");
  afterAll(() => redis.quit());

  it("lets the first job claim an event, its retries keep it, other jobs see a duplicate", async () => {
    const claims = new EventClaims(redis, prefix, 60_000);
    expect(await claims.claim("msg_1", "job-a")).toEqual({ claimed: true });
    expect(await claims.claim("msg_1", "job-a")).toEqual({ claimed: true });
    expect(await claims.claim("msg_1", "job-b")).toEqual({ claimed: false, ownerJobId: "job-a" });
    expect(await claims.claim("msg_2", "job-b")).toEqual({ claimed: true });
  });

  it("holds a claim for the window, then lets the event through again", async () => {
    const claims = new EventClaims(redis, prefix, 60_000);
    await claims.claim("msg_w", "job-a");
    const ttl = await redis.pttl(claims.key("msg_w"));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await redis.del(claims.key("msg_w")); // what expiry does at the window's end
    expect(await claims.claim("msg_w", "job-c")).toEqual({ claimed: true });
  });

  it("reads each watched destination queue's gate in the same call: open, paused, rate-limited", async () => {
    const seen: Array<ReadonlyMap<string, number>> = [];
    const queue = (name: string) => ({
      name,
      metaKey: `${prefix}:deliveries.${name}:meta`,
      limiterKey: `${prefix}:deliveries.${name}:limiter`,
      max: 10,
    });
    const claims = new EventClaims(redis, prefix, 60_000, {
      queues: [queue("open"), queue("paused"), queue("limited")],
      onGates: (gates) => seen.push(gates),
    });
    await redis.hset(`${prefix}:deliveries.paused:meta`, "paused", 1);
    await redis.set(`${prefix}:deliveries.limited:limiter`, Number.MAX_SAFE_INTEGER, "PX", 5_000);
    expect(await claims.claim("msg_g", "job-g")).toEqual({ claimed: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.get("open")).toBe(0);
    expect(seen[0]!.get("paused")).toBe(-1);
    expect(seen[0]!.get("limited")).toBeGreaterThan(4_000);
  });
});
