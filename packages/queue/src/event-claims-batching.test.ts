import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { createWorkerConnection } from "./connections.ts";
import { EventClaims } from "./event-claims.ts";

describe("EventClaims: claims of one turn go to Redis together (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  const prefix = uniquePrefix("claimsbatch");
  afterAll(() => redis.quit());

  it("sends the claims made in one turn as one script call, each with its own answer", async () => {
    const claims = new EventClaims(redis, prefix, 60_000);
    await claims.claim("msg_warm", "job-0"); // loads the script, so that the batch below is one EVALSHA
    const sent = vi.spyOn(redis, "sendCommand");
    const outcomes = await Promise.all([
      claims.claim("msg_a", "job-1"),
      claims.claim("msg_b", "job-2"),
      claims.claim("msg_a", "job-3"),
      claims.claim("msg_a", "job-1"),
    ]);
    const commands = sent.mock.calls.map(([command]) => command.name);
    sent.mockRestore();
    expect(commands).toEqual(["evalsha"]);
    expect(outcomes).toEqual([
      { claimed: true },
      { claimed: true },
      { claimed: false, ownerJobId: "job-1" },
      { claimed: true },
    ]);
    expect(await redis.get(claims.key("msg_b"))).toBe("job-2");
  });

  it("still claims after Redis forgot the script (SCRIPT FLUSH, a restart)", async () => {
    const claims = new EventClaims(redis, prefix, 60_000);
    await claims.claim("msg_before", "job-1");
    await redis.script("FLUSH");
    expect(await Promise.all([claims.claim("msg_c", "job-4"), claims.claim("msg_d", "job-5")])).toEqual([
      { claimed: true },
      { claimed: true },
    ]);
    expect(await claims.claim("msg_c", "job-6")).toEqual({ claimed: false, ownerJobId: "job-4" });
  });

  it("rejects every claim of a batch when Redis cannot answer", async () => {
    const broken = createWorkerConnection(inject("redisUrl"), {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    broken.on("error", () => {});
    const claims = new EventClaims(broken, prefix, 60_000);
    const results = await Promise.allSettled([claims.claim("msg_x", "job-7"), claims.claim("msg_y", "job-8")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    broken.disconnect();
  });
});
