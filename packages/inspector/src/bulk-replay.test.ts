import { createDeliveryQueue } from "@yuju-relay/queue";
import { uniquePrefix } from "@yuju-relay/testing";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { replayJobs } from "./bulk-replay.ts";

describe("replayJobs: a bulk replay that can be cancelled", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const queue = createDeliveryQueue(redis, uniquePrefix("bulk"), "crm");
  afterAll(async () => {
    await queue.close();
    await redis.quit();
  });

  it("stops between jobs once cancelled, and says so", async () => {
    // Jobs gone since the listing: each is read, found missing, and counted as skipped.
    const refs = Array.from({ length: 100 }, (_, i) => ({ queue, id: `gone-${i}` }));
    const abort = new AbortController();
    let done = 0;
    const summary = await replayJobs(
      refs,
      { asNew: false, commandLine: "test" },
      {
        signal: abort.signal,
        onProgress: (n) => {
          done = n;
          abort.abort();
        },
      },
    );
    expect(summary.cancelled).toBe(true);
    // Only the jobs already under way when it was cancelled (one per lane at most) finished.
    expect(done).toBeLessThanOrEqual(16);
    expect(summary.skipped).toBe(done);
  });
});
