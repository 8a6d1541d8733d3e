import { eventually, type PlatformCall } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startSendStack } from "./testing/send-stack.ts";

const ACCOUNTS = 20;
const CHATS = 200;
const PER_CHAT = 5;
const TOTAL = CHATS * PER_CHAT;
// Small numbers, so that the test is short and each limit binds: 1 000 sends take ~10 s of window.
const LIMIT = 200;
const WINDOW_MS = 2_000;
const INTERVAL_MS = 150;
// Both limits are kept as the platform sees them, not only where the relay decides: an account's
// interval counts from the end of its previous call, and a call in flight counts in the window at
// the latest time it can arrive (send-pacing.ts). So they are checked on the mock's arrival times,
// without slack, however much a loaded machine delays a call between its turn and the platform.

const accountOf = (chat: number) => `bot-${chat % ACCOUNTS}`;
const textOf = (chat: number, n: number) => `chat ${chat} part ${n}`;

let stack: Awaited<ReturnType<typeof startSendStack>>;
beforeAll(async () => {
  stack = await startSendStack({
    redisUrl: inject("redisUrl"),
    workers: 3,
    workerEnv: { SEND_RATE_LIMIT: `${LIMIT}/${WINDOW_MS}ms`, SEND_ACCOUNT_INTERVAL: `${INTERVAL_MS}ms` },
  });
});
afterAll(() => stack?.close());

describe("pacing across three worker processes", () => {
  it("sends 1 000 messages over 20 accounts and 200 chats: accounts paced, the key's window kept, every chat in order", async () => {
    // Each round posts one part to every chat at once: a chat's parts are accepted in order.
    for (let n = 0; n < PER_CHAT; n++) {
      const answers = await Promise.all(
        Array.from({ length: CHATS }, (_, chat) =>
          stack.send({ chatId: `chat-${chat}`, botWxid: accountOf(chat), text: textOf(chat, n) }),
        ),
      );
      expect(answers.every((a) => a.status === 202)).toBe(true);
    }
    await eventually(() => expect(stack.platform.sent().length).toBe(TOTAL), { timeoutMs: 90_000, intervalMs: 250 });
    const calls = stack.platform.calls;
    expect(calls.length).toBe(TOTAL); // nothing went twice

    // Every chat's parts arrived in the order they were accepted.
    const byChat = new Map<string, string[]>();
    for (const call of calls) byChat.set(call.chatId, [...(byChat.get(call.chatId) ?? []), String(call.payload.text)]);
    for (let chat = 0; chat < CHATS; chat++) {
      expect(byChat.get(`chat-${chat}`)).toEqual(Array.from({ length: PER_CHAT }, (_, n) => textOf(chat, n)));
    }

    // No account sent two messages closer than its interval.
    const accountCalls = new Map<string, PlatformCall[]>();
    for (const call of calls) {
      const account = accountOf(Number(call.chatId.slice(5)));
      accountCalls.set(account, [...(accountCalls.get(account) ?? []), call]);
    }
    let closest = Infinity;
    for (const list of accountCalls.values()) {
      for (let i = 1; i < list.length; i++) closest = Math.min(closest, list[i]!.at - list[i - 1]!.at);
    }
    expect(closest).toBeGreaterThanOrEqual(INTERVAL_MS);

    // No window of WINDOW_MS, wherever it starts, held more than LIMIT calls.
    const times = calls.map((c) => c.at).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (j < times.length && times[j]! < times[i]! + WINDOW_MS) j++;
      most = Math.max(most, j - i);
    }
    expect(most).toBeLessThanOrEqual(LIMIT);
    // ... and the limit was what bounded the rate: the last call came at least 4 windows after the first.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((TOTAL - LIMIT) / LIMIT) * WINDOW_MS - WINDOW_MS);

    const sample = await stack.status(
      String((await stack.send({ chatId: "chat-0", botWxid: "bot-0", text: "last" })).body.id),
    );
    expect(sample.status).toBe(200);
  }, 150_000);
});
