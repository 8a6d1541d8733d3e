import { eventually, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { acceptedIds, startRelayStack } from "../../../test-support/relay-stack.ts";

// Small, so the window is long enough to be meaningful and the test stays short.
const RATE = 4;
const WINDOW_MS = 10_000;

describe("a destination's rateLimit holds across worker processes", () => {
  let receiver: Receiver;
  let stack: Awaited<ReturnType<typeof startRelayStack>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 2,
      destinations: [{ name: "limited", receiver, yaml: `    rateLimit: ${RATE}` }],
    });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it(
    `delivers at most ${RATE} per second over a ${WINDOW_MS / 1000} s window, and no less than the limit allows`,
    { timeout: 60_000 },
    async () => {
      // More than the window can take, all at once: the limit, not the supply, decides the pace.
      const total = RATE * 14;
      await Promise.all(Array.from({ length: total }, (_, i) => stack.post(messageCallback(`r-${i}`))));
      await eventually(() => expect(receiver.deliveries.length).toBeGreaterThanOrEqual(RATE * 12), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const arrivals = receiver.deliveries.map((d) => d.at).sort((a, b) => a - b);
      // BullMQ counts in fixed one-second windows, so any 10 s span overlaps at most 11 of them.
      let most = 0;
      for (const start of arrivals)
        most = Math.max(most, arrivals.filter((t) => t >= start && t < start + WINDOW_MS).length);
      expect(most).toBeLessThanOrEqual(RATE * (WINDOW_MS / 1000 + 1));
      // And the limit is what bounds it: the first 10 s carried close to the limit.
      const first = arrivals.filter((t) => t < arrivals[0]! + WINDOW_MS).length;
      expect(first).toBeGreaterThanOrEqual(RATE * (WINDOW_MS / 1000 - 2));
      await eventually(() => expect(new Set(acceptedIds("limited", receiver)).size).toBe(total), { timeoutMs: 20_000 });
      expect(receiver.deliveries).toHaveLength(total);
    },
  );
});
