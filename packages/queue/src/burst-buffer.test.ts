import { uniquePrefix } from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { afterAll, describe, expect, inject, it } from "vitest";
import { BurstBuffer, type BurstEntry } from "./burst-buffer.ts";
import { createWorkerConnection } from "./connections.ts";
import { CALLBACK_QUEUE } from "./job-catalog.ts";

const entry = (id: string, at = Date.now()): BurstEntry => ({
  id,
  at: new Date(at).toISOString(),
  cb: "1",
  data: { messageId: id },
});
const ids = (burst: { entries: BurstEntry[] } | null) => burst?.entries.map((e) => e.id) ?? null;

describe("BurstBuffer (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  afterAll(() => redis.quit());
  const policy = { quietMs: 200, maxWaitMs: 1_000, maxMessages: 3 };

  it("adds a message once, however often it comes, and says when the burst is full", async () => {
    const buffer = new BurstBuffer(redis, uniquePrefix("burst"), "assistant", policy);
    expect(await buffer.append("c1", entry("msg_a"))).toBe(1);
    expect(await buffer.append("c1", entry("msg_a"))).toBe(0);
    expect(await buffer.append("c1", entry("msg_b"))).toBe(2);
    expect(await buffer.append("c1", entry("msg_c"))).toBe(3);
    // Full: due whatever the cutoff.
    const burst = await buffer.close("c1", 0);
    expect(ids(burst)).toEqual(["msg_a", "msg_b", "msg_c"]);
    expect(burst).toMatchObject({ n: 1, why: "maxMessages" });
    // A redelivery after the close joins no burst.
    expect(await buffer.append("c1", entry("msg_b"))).toBe(0);
  });

  it("is due once quiet has passed since the last message, never before; one taker of several gets it", async () => {
    const buffer = new BurstBuffer(redis, uniquePrefix("burst"), "assistant", policy);
    const t = Date.now() - 1_000;
    await buffer.append("c2", entry("msg_1", t));
    await buffer.append("c2", entry("msg_2", t + 150));
    expect(await buffer.close("c2", t + 300)).toBeNull(); // last + quiet = t + 350
    const takers = await Promise.all([buffer.close("c2", t + 400), buffer.close("c2", t + 400)]);
    const taken = takers.filter((b) => b !== null);
    expect(taken).toHaveLength(1);
    expect(ids(taken[0]!)).toEqual(["msg_1", "msg_2"]);
    expect(taken[0]!.why).toBe("quiet");
    expect((await buffer.poll(10, 5_000)).due).not.toContain("c2");
  });

  it("closes at maxWait after the first message even while messages keep coming", async () => {
    const buffer = new BurstBuffer(redis, uniquePrefix("burst"), "assistant", { ...policy, maxMessages: 100 });
    const t = Date.now() - 2_000;
    for (let i = 0; i < 8; i++) await buffer.append("c3", entry(`msg_${i}`, t + i * 150));
    const poll = await buffer.poll(10, 5_000);
    expect(poll.due).toEqual(["c3"]);
    const burst = await buffer.close("c3", poll.cutoff);
    expect(burst).toMatchObject({ why: "maxWait", n: 1 });
    expect(ids(burst)).toHaveLength(8);
    // The next burst is numbered on.
    await buffer.append("c3", entry("msg_next", t));
    expect(await buffer.close("c3", Date.now() + 10_000)).toMatchObject({ n: 2 });
  });

  it("keeps a taken burst until it is handed over, for another worker after its taker died", async () => {
    const buffer = new BurstBuffer(redis, uniquePrefix("burst"), "assistant", policy);
    await buffer.append("c4", entry("msg_x", Date.now() - 5_000));
    const taken = await buffer.close("c4", Date.now());
    expect(ids(taken)).toEqual(["msg_x"]);
    // Its taker dies here. Another worker's poll finds it once staleMs has passed.
    expect((await buffer.poll(10, 60_000)).stale).toEqual([]);
    expect((await buffer.poll(10, 0)).stale).toEqual(["c4"]);
    expect((await buffer.closedBursts("c4")).map(ids)).toEqual([["msg_x"]]);
    await buffer.handedOver("c4", 1);
    expect(await buffer.closedBursts("c4")).toEqual([]);
    expect((await buffer.poll(10, 0)).stale).toEqual([]);
  });

  it("holds a due burst while an older callback is still waiting for a worker", async () => {
    const prefix = uniquePrefix("burst");
    const buffer = new BurstBuffer(redis, prefix, "assistant", policy);
    const callbacks = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    try {
      // Its quiet spell is over (its message came a second ago), but a callback accepted before
      // that moment has not been fanned out yet.
      const at = Date.now() - 1_000;
      await buffer.append("c5", entry("msg_q", at));
      await callbacks.add("message", { kind: "message" }, { timestamp: at + 100 });
      expect((await buffer.poll(10, 5_000)).due).toEqual([]);
      await callbacks.drain();
      expect((await buffer.poll(10, 5_000)).due).toEqual(["c5"]);
    } finally {
      await callbacks.close();
    }
  });
});
