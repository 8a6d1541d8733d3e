import { readEventRecord } from "@yuju-relay/queue";
import { eventually, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { acceptedIds, startRelayStack } from "./testing/relay-stack.ts";

const RATE = 20; // callbacks per second, for the baseline and while one destination hangs
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.95)] ?? 0;

describe("one destination hangs (no answer until its timeout) while the others keep receiving (one worker process)", () => {
  const receivers: Record<string, Receiver> = {};
  let stack: Awaited<ReturnType<typeof startRelayStack>>;
  beforeAll(async () => {
    for (const name of ["crm", "archive", "stuck"]) receivers[name] = await startReceiver();
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 1,
      workerEnv: { INLINE_TIMEOUT: "500ms" },
      destinations: [
        { name: "crm", receiver: receivers.crm! },
        { name: "archive", receiver: receivers.archive! },
        {
          name: "stuck",
          receiver: receivers.stuck!,
          yaml: "    timeout: 2s\n    attempts: 3\n    retry: { baseDelay: 200ms, maxDelay: 1s }",
        },
      ],
    });
  });
  afterAll(async () => {
    receivers.stuck!.delayMs = 0;
    await stack.close();
    for (const r of Object.values(receivers)) await r.close();
  });

  async function postFor(label: string, ms: number, postedAt: Map<string, number>) {
    const count = Math.round((ms / 1000) * RATE);
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      // Pacing the load, not waiting for a condition.
      const due = start + (i * 1000) / RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      postedAt.set(`msg_${label}-${i}`, Date.now());
      await stack.post(messageCallback(`${label}-${i}`));
    }
    return count;
  }
  const latencies = (receiver: Receiver, postedAt: Map<string, number>) =>
    receiver.deliveries
      .filter((d) => postedAt.has(String(d.headers["webhook-id"])))
      .map((d) => d.at - postedAt.get(String(d.headers["webhook-id"]))!);

  it(
    "keeps the healthy destinations' p95 while one hangs; the hung deliveries go to its queue as attempt 1 (timeout)",
    { timeout: 60_000 },
    async () => {
      const before = new Map<string, number>();
      const baselineCount = await postFor("calm", 2_000, before);
      for (const name of ["crm", "archive", "stuck"]) {
        await eventually(() => expect(acceptedIds(name, receivers[name]!)).toHaveLength(baselineCount));
      }

      receivers.stuck!.delayMs = 10_000; // answers long after its 2 s timeout
      const during = new Map<string, number>();
      const hangCount = await postFor("hang", 4_000, during);
      for (const name of ["crm", "archive"]) {
        await eventually(() =>
          expect(acceptedIds(name, receivers[name]!).filter((id) => during.has(id))).toHaveLength(hangCount),
        );
        const baseline = p95(latencies(receivers[name]!, before));
        const hanging = p95(latencies(receivers[name]!, during));
        // Unchanged, with room for this shared machine's noise: waiting on the hung destination, it
        // would be the inline timeout (500 ms) for every event.
        expect(hanging, `${name}: p95 ${hanging} ms while one hangs, ${baseline} ms before`).toBeLessThanOrEqual(
          Math.max(baseline * 3, baseline + 250),
        );
      }
      // The first hung event's inline attempt timed out and went to the queue as attempt 1.
      const record = await eventually(async () => {
        const found = await readEventRecord(stack.redis, stack.prefix, "msg_hang-0");
        expect(found?.attempts.find((a) => a.destination === "stuck")).toBeDefined();
        return found!;
      });
      const first = record.attempts.find((a) => a.destination === "stuck")!;
      expect(first).toMatchObject({ attempt: 1, status: null, error: "timeout" });
      expect(["retrying", "failed"]).toContain(first.outcome);
      // The breaker stopped inlining to it: most of its deliveries were handed over without an inline attempt.
      let handedOver = 0;
      for (const id of during.keys()) {
        const r = await readEventRecord(stack.redis, stack.prefix, id);
        if (r?.attempts.every((a) => a.destination !== "stuck" || !a.inline)) handedOver++;
      }
      expect(handedOver).toBeGreaterThan(hangCount / 2);
    },
  );
});
