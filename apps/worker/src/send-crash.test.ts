import { eventually, freePort } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startSendStack } from "./testing/send-stack.ts";

const SENDS = 20;

let stack: Awaited<ReturnType<typeof startSendStack>>;
beforeAll(async () => {
  stack = await startSendStack({
    redisUrl: inject("redisUrl"),
    workers: 1,
    workerEnv: { SEND_RATE_LIMIT: "off", SEND_ACCOUNT_INTERVAL: "0" },
  });
});
afterAll(() => stack?.close());

async function possibleResends(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("yuju_send_possible_resends_total"));
  return Number(line?.split(" ")[1] ?? 0);
}

describe("a worker killed while sending", () => {
  it("loses no send, and sends again at most what was in flight, counting it", async () => {
    // A slow platform: calls are in flight for a second, and the worker dies during them.
    stack.platform.delayMs = 1_000;
    const [victim] = stack.workers;
    let inFlightAtKill = -1;
    stack.platform.onCall = () => {
      if (stack.platform.calls.length === 3 && inFlightAtKill < 0) {
        victim!.child.kill("SIGKILL");
        inFlightAtKill = stack.platform.calls.length;
      }
    };
    const ids: string[] = [];
    for (let i = 0; i < SENDS; i++) {
      ids.push(String((await stack.send({ chatId: `crash-${i}`, botWxid: `bot-${i}`, text: `message ${i}` })).body.id));
    }
    await victim!.exited;
    expect(inFlightAtKill).toBeGreaterThan(0);
    const callsBeforeRestart = stack.platform.calls.length;
    stack.platform.delayMs = 0;
    stack.platform.onCall = null;
    const opsPort = await freePort();
    await stack.startWorkerProcess({ OPS_PORT: String(opsPort), OPS_HOST: "127.0.0.1" });

    await eventually(
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await stack.status(id)).body.status));
        expect(statuses.every((s) => s === "sent")).toBe(true);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Every send reached the platform; the only ones sent twice were in flight when the worker died.
    const byText = new Map<string, number>();
    for (const call of stack.platform.calls)
      byText.set(String(call.payload.text), (byText.get(String(call.payload.text)) ?? 0) + 1);
    expect([...byText.keys()].sort()).toEqual(Array.from({ length: SENDS }, (_, i) => `message ${i}`).sort());
    const twice = [...byText.values()].filter((n) => n > 1);
    expect(twice.every((n) => n === 2)).toBe(true);
    expect(twice.length).toBeLessThanOrEqual(callsBeforeRestart);
    expect(stack.platform.calls.length).toBe(SENDS + twice.length);
    // ... and each of those is counted. The count may be higher: a send marked `sending` whose call
    // had not left yet when the worker died is counted too (the relay cannot tell the two apart),
    // but never more than the dead worker had in hand (SEND_CONCURRENCY, 8 here).
    const counted = await possibleResends(`http://127.0.0.1:${opsPort}`);
    expect(counted).toBeGreaterThanOrEqual(twice.length);
    expect(counted).toBeLessThanOrEqual(8);
  }, 90_000);
});
