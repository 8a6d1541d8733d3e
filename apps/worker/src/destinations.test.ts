import { eventually, memberLeftCallback, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readEventRecord, type CallbackJobResult } from "@yuju-relay/queue";
import { acceptedIds, secretFor, startRelayStack } from "./testing/relay-stack.ts";

type Stack = Awaited<ReturnType<typeof startRelayStack>>;

async function callbackResults(stack: Stack, count: number): Promise<CallbackJobResult[]> {
  return eventually(async () => {
    const completed = await stack.callbacks.getCompleted();
    expect(completed).toHaveLength(count);
    return completed.map((j) => j.returnvalue as CallbackJobResult);
  });
}

describe("three destinations with different filters (two worker processes)", () => {
  const receivers: Record<string, Receiver> = {};
  let stack: Stack;
  beforeAll(async () => {
    for (const name of ["texts", "room-one", "refunds"]) receivers[name] = await startReceiver();
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 2,
      destinations: [
        {
          name: "texts",
          receiver: receivers.texts!,
          yaml: "    events: [message.received]\n    filter:\n      kinds: [text]\n      isSelf: false",
        },
        { name: "room-one", receiver: receivers["room-one"]!, yaml: "    filter:\n      roomIds: [room-1]" },
        {
          name: "refunds",
          receiver: receivers.refunds!,
          yaml: '    filter:\n      isGroup: false\n      textMatches: "/refund/i"',
        },
      ],
    });
  });
  afterAll(async () => {
    await stack.close();
    for (const r of Object.values(receivers)) await r.close();
  });

  it("each gets exactly the events it matches, signed with its own secret; an event nobody wants completes as unmatched", async () => {
    const messages: Array<[string, Parameters<typeof messageCallback>[1]]> = [
      ["f-1", { text: "hello" }], // texts
      ["f-2", { text: "refund please", isSelf: true }], // refunds (isSelf is not in its filter)
      ["f-3", { type: 6, roomId: "room-1" }], // room-one
      ["f-4", { text: "refund", roomId: "room-1" }], // texts, room-one (refunds wants private chats)
      ["f-5", { text: "I want a REFUND" }], // texts, refunds
      ["f-6", { text: "hi", roomId: "room-2" }], // texts
      ["f-7", { type: 6, isSelf: true }], // nobody
    ];
    for (const [id, shape] of messages) await stack.post(messageCallback(id, shape));
    await stack.post(memberLeftCallback("room-1", "member-a"), "/room/left"); // room-one: room events have a room id
    await stack.post(memberLeftCallback("room-2", "member-b"), "/room/left"); // nobody: no text, no kind, not room-1

    const results = await callbackResults(stack, messages.length + 2);
    const roomOneLeave = results.find(
      (r) => r.outcome === "queued" && r.type === "room.members_left" && r.destinations.includes("room-one"),
    );
    expect(roomOneLeave).toBeDefined();
    const unmatched = results.filter((r) => r.outcome === "unmatched");
    expect(unmatched).toHaveLength(2);
    expect(unmatched.map((r) => r.outcome === "unmatched" && r.reason)).toEqual([
      "no destination wants it",
      "no destination wants it",
    ]);

    const expected: Record<string, string[]> = {
      texts: ["msg_f-1", "msg_f-4", "msg_f-5", "msg_f-6"],
      "room-one": ["msg_f-3", "msg_f-4", roomOneLeave!.eventId],
      refunds: ["msg_f-2", "msg_f-5"],
    };
    for (const [name, ids] of Object.entries(expected)) {
      await eventually(() => expect(acceptedIds(name, receivers[name]!).sort()).toEqual([...ids].sort()));
    }
    // Nothing more arrives once every delivery queue is drained.
    for (const queue of stack.deliveries.values()) {
      await eventually(async () => expect(await queue.getJobCountByTypes("waiting", "active", "delayed")).toBe(0));
    }
    for (const [name, ids] of Object.entries(expected)) expect(receivers[name]!.deliveries).toHaveLength(ids.length);
    // Signed with its own secret only: another destination's secret does not verify.
    const delivery = receivers.texts!.deliveries[0]!;
    expect(() =>
      new Webhook(secretFor("refunds")).verify(delivery.raw, delivery.headers as Record<string, string>),
    ).toThrow();
    // Delivered inline: no delivery job, and the event's record says what each destination did with it,
    // a filter's exclusion by the condition that excluded it.
    expect(await stack.deliveries.get("texts")!.getJob("msg_f-4")).toBeUndefined();
    const record = await eventually(async () => {
      const found = await readEventRecord(stack.redis, stack.prefix, "msg_f-2");
      expect(found?.destinations.refunds?.state).toBe("delivered");
      return found!;
    });
    expect(record.summary).toMatchObject({ id: "msg_f-2", messageId: "f-2" });
    expect(record.destinations.texts).toMatchObject({ state: "filtered" });
    expect(record.destinations.texts?.reason).toMatch(/^filter\./);
    expect(record.attempts).toMatchObject([{ destination: "refunds", attempt: 1, inline: true, outcome: "delivered" }]);
    expect(JSON.stringify(record)).not.toMatch(/whsec_/);
  });
});

describe("per-destination pauses and rate limits (one worker process)", () => {
  const receivers: Record<string, Receiver> = {};
  let stack: Stack;
  beforeAll(async () => {
    for (const name of ["gone", "healthy", "busy"]) receivers[name] = await startReceiver();
    receivers.gone!.status = 410;
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 1,
      workerEnv: { OPS_PORT: "0", OPS_HOST: "127.0.0.1" },
      destinations: [
        { name: "gone", receiver: receivers.gone!, yaml: "    filter:\n      chatIds: [chat-gone]" },
        { name: "healthy", receiver: receivers.healthy! },
        { name: "busy", receiver: receivers.busy!, yaml: "    filter:\n      chatIds: [chat-busy]" },
      ],
    });
  });
  afterAll(async () => {
    await stack.close();
    for (const r of Object.values(receivers)) await r.close();
  });

  it("a 410 pauses only its own destination, logged, until it is resumed; then nothing is lost", async () => {
    for (let i = 0; i < 6; i++) await stack.post(messageCallback(`g-${i}`, { chatId: "chat-gone" }));
    const gone = stack.deliveries.get("gone")!;
    await eventually(async () => expect(await gone.isPaused()).toBe(true));
    await eventually(() => expect(acceptedIds("healthy", receivers.healthy!)).toHaveLength(6));
    // Paused after the first answers: the jobs wait, none failed, none used an attempt.
    await eventually(async () => expect(await gone.getJobCountByTypes("waiting", "paused")).toBe(6));
    expect(await gone.getFailedCount()).toBe(0);
    expect(receivers.gone!.deliveries.length).toBeLessThanOrEqual(4); // at most the jobs already in flight
    const log = await stack.workers[0]!.waitForLog(/410 Gone: paused until resumed/);
    expect(log).toMatchObject({ destination: "gone", eventId: expect.stringMatching(/^msg_g-/) });
    // Other destinations go on: one more event reaches healthy while gone stays paused.
    await stack.post(messageCallback("g-after"));
    await eventually(() => expect(acceptedIds("healthy", receivers.healthy!)).toContain("msg_g-after"));
    expect(await gone.isPaused()).toBe(true);

    receivers.gone!.status = 200;
    await gone.resume(); // what the dashboard's Resume does
    await eventually(() =>
      expect(acceptedIds("gone", receivers.gone!).sort()).toEqual(
        Array.from({ length: 6 }, (_, i) => `msg_g-${i}`).sort(),
      ),
    );
  });

  it("counts the pause in a metric", async () => {
    const started = await stack.workers[0]!.waitForLog(/worker started/);
    const url = started.ops as string;
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/yuju_destination_pauses_total\{destination="gone",app="worker"\} 1/);
    expect(text).toMatch(/yuju_deliveries_total\{destination="healthy",outcome="delivered",app="worker"\} 7/);
    expect(text).toMatch(/yuju_queue_jobs\{queue="deliveries\.gone",destination="gone",state="waiting",app="worker"\}/);
  });

  it("a 429 with Retry-After makes the whole destination wait, not only that job", async () => {
    const busy = receivers.busy!;
    busy.retryAfter = "2";
    busy.respondWith(429);
    await stack.post(messageCallback("b-0", { chatId: "chat-busy" }));
    await eventually(() => expect(busy.deliveries.map((d) => d.status)).toEqual([429]));
    const limitedAt = busy.deliveries[0]!.at;
    for (let i = 1; i <= 3; i++) await stack.post(messageCallback(`b-${i}`, { chatId: "chat-busy" }));
    await eventually(() =>
      expect(acceptedIds("busy", busy).sort()).toEqual(["msg_b-0", "msg_b-1", "msg_b-2", "msg_b-3"]),
    );
    // Jobs added after the 429 waited for its Retry-After too (a lower bound: a slow machine only adds).
    for (const d of busy.deliveries.slice(1)) expect(d.at - limitedAt).toBeGreaterThanOrEqual(1_900);
    const job = await stack.deliveries.get("busy")!.getJob("msg_b-0");
    expect(await job?.getState()).toBe("completed");
  });
});
