import { ConfigError } from "@yuju-relay/config";
import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createWorkerConnection } from "./connections.ts";
import { claimPartitionCount, partitionCountKey } from "./partition-count.ts";

describe("claimPartitionCount (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  afterAll(() => redis.quit());

  it("records the count on first start, accepts it again, and refuses another one with the way to change it", async () => {
    const prefix = uniquePrefix("partitions");
    await claimPartitionCount(redis, prefix, 6);
    expect(await redis.get(partitionCountKey(prefix))).toBe("6");
    await claimPartitionCount(redis, prefix, 6);
    const refusal = await claimPartitionCount(redis, prefix, 3).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(String(refusal)).toMatch(/CALLBACK_PARTITIONS: .* laid out in 6 partition\(s\), .* started with 3/);
    expect(String(refusal)).toMatch(/drain every queue.*start every app/);
  });

  it("takes a Redis with the unpartitioned callbacks queue and no record as one partition", async () => {
    const prefix = uniquePrefix("partitions-legacy");
    await redis.hset(`${prefix}:callbacks:meta`, "opts.maxLenEvents", "10000");
    await expect(claimPartitionCount(redis, prefix, 6)).rejects.toThrow(/laid out in 1 partition/);
    await claimPartitionCount(redis, prefix, 1);
  });
});
