import { uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";

// patches/ (pnpm patchedDependencies) keeps every Redis pipeline collectable by V8's young-generation
// GC: a closure or accessor made per pipeline, holding the pipeline, made the ingress promote each
// batch of jobs to the old generation (1 MB per scavenge under load: CPU, and 40 MB of peak RSS).
// These checks fail when an upgrade of ioredis or BullMQ drops a patch; then re-measure with
// `pnpm bench` (see docs/performance.md) before re-applying or removing it.
describe("dependency patches (real Redis)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  afterAll(() => redis.quit());

  it("ioredis: a pipeline's length is a prototype getter, not an accessor of its own", () => {
    const pipeline = redis.pipeline().get("a").get("b");
    expect(Object.getOwnPropertyNames(pipeline)).not.toContain("length");
    expect((pipeline as unknown as { length: number }).length).toBe(2);
  });

  it("BullMQ: pipelines share their adapter methods instead of closures made for each", async () => {
    const queue = new Queue("patch-check", { connection: redis, prefix: uniquePrefix("patches") });
    const client = await queue.client;
    const [a, b] = [client.pipeline(), client.pipeline()];
    expect(a.runCommand).toBe(b.runCommand);
    expect(a.hset).toBe(b.hset);
    const [job] = await queue.addBulk([{ name: "n", data: { ok: true } }]);
    expect((await queue.getJob(job!.id!))?.data).toEqual({ ok: true });
    await queue.obliterate({ force: true });
    await queue.close();
  });
});
