import { messageCallback, runCommand, startReceiver, eventually, type Receiver } from "@yuju-relay/testing";
import type { WebhookEnvelope } from "@yuju-relay/protocol";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_KEY, PLATFORM_KEY, startSendStack } from "./testing/send-stack.ts";

let stack: Awaited<ReturnType<typeof startSendStack>>;
let assistant: Receiver;
let archive: Receiver;
const relay = (args: string[]) =>
  runCommand("apps/cli/src/main.ts", args, { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: stack.prefix });

beforeAll(async () => {
  [assistant, archive] = await Promise.all([startReceiver(), startReceiver()]);
  stack = await startSendStack({
    redisUrl: inject("redisUrl"),
    workers: 2,
    // No pacing to speak of: these tests are about answers, not rates.
    workerEnv: {
      SEND_RATE_LIMIT: "1000/1s",
      SEND_ACCOUNT_INTERVAL: "0",
      SEND_PROBE_INTERVAL: "20s",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
    },
    destinations: [
      {
        name: "assistant",
        receiver: assistant,
        yaml: "    events: [message.received]\n    filter:\n      origin: [contact]",
      },
      { name: "archive", receiver: archive },
    ],
  });
});
afterAll(async () => {
  await stack?.close();
  await Promise.all([assistant?.close(), archive?.close()]);
});

/** yuju_send_quota_exhausted as a worker's /metrics says it (what YujuSendQuotaExhausted reads). */
async function quotaGauge(): Promise<number> {
  const started = stack.workers[0]!.logs.find((l) => l.msg === "worker started") as { ops: string };
  const text = await (await fetch(`${started.ops}/metrics`)).text();
  return Number(/^yuju_send_quota_exhausted(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
}

const callsTo = (chatId: string) => stack.platform.calls.filter((c) => c.chatId === chatId);

describe("the send API", () => {
  it("answers 401 without a valid key, 400 naming the field, 422 without a known account", async () => {
    expect((await stack.send({ chatId: "c", botWxid: "b", text: "x" }, "wrong-key-0000000000000")).status).toBe(401);
    const noAuth = await fetch(`${stack.ingress.apiUrl}/v1/messages`, { method: "POST", body: "{}" });
    expect(noAuth.status).toBe(401);
    expect(await stack.send({ chatId: "c", botWxid: "b", text: "x" }, "old-key-aaaaaaaaaaaaaaaa")).toMatchObject({
      status: 202,
    });
    expect(await stack.send({ botWxid: "b", text: "x" })).toMatchObject({ status: 400, body: { field: "chatId" } });
    expect(await stack.send({ chatId: "c", text: 5 })).toMatchObject({ status: 400, body: { field: "text" } });
    expect(await stack.send({ chatId: "c", type: "image" })).toMatchObject({ status: 400, body: { field: "url" } });
    expect(await stack.send({ chatId: "c", type: "video", url: "https://x" })).toMatchObject({
      status: 400,
      body: { field: "type" },
    });
    expect(await stack.send({ chatId: "c", text: "x", colour: "red" })).toMatchObject({ status: 400 });
    expect(await stack.send({ chatId: "never-seen", text: "hello" })).toMatchObject({
      status: 422,
      body: { field: "botWxid" },
    });
    expect(callsTo("never-seen")).toEqual([]);
  });

  it("sends text, image and file with the platform's shape, and reports each send's status and attempts", async () => {
    const text = await stack.send({ chatId: "shape", botWxid: "bot-1", text: "您好" });
    const image = await stack.send({
      chatId: "shape",
      botWxid: "bot-1",
      type: "image",
      url: "https://cdn.example.com/a.png",
    });
    const file = await stack.send({
      chatId: "shape",
      botWxid: "bot-1",
      type: "file",
      url: "https://cdn.example.com/a.pdf",
      name: "报价.pdf",
    });
    expect(text).toMatchObject({ status: 202, body: { status: "queued" } });
    await eventually(() => expect(callsTo("shape")).toHaveLength(3));
    expect(callsTo("shape").map((c) => [c.path, c.messageType, c.payload])).toEqual([
      ["/v1/api/ai/marketing/send/message", 0, { text: "您好" }],
      ["/v1/api/ai/marketing/send/message", 1, { url: "https://cdn.example.com/a.png" }],
      ["/v1/api/ai/marketing/send/message", 3, { url: "https://cdn.example.com/a.pdf", name: "报价.pdf" }],
    ]);
    expect(callsTo("shape").every((c) => c.apiKey === PLATFORM_KEY)).toBe(true);
    for (const sent of [text, image, file]) {
      const status = await eventually(async () => {
        const s = await stack.status(String(sent.body.id));
        expect(s.body.status).toBe("sent");
        return s.body;
      });
      expect(status).toMatchObject({
        id: sent.body.id,
        attempts: [{ destination: "platform", attempt: 1, status: 200, outcome: "delivered", webhookId: sent.body.id }],
        platformResponse: { status: 200, body: { code: 0 } },
      });
    }
    expect((await stack.status("snd_nope")).status).toBe(404);
  });

  it("sends once for an idempotency key posted 5 times at once; the same key with another body gets 409", async () => {
    const body = { chatId: "idem", botWxid: "bot-1", text: "只发一次", idempotencyKey: "order-42-reply" };
    const answers = await Promise.all(Array.from({ length: 5 }, () => stack.send(body)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await stack.send({ ...body, text: "another" })).toMatchObject({ status: 409 });
    await eventually(async () => expect((await stack.status(String(answers[0]!.body.id))).body.status).toBe("sent"));
    // A later post of the same key answers the first send's id and status, and sends nothing.
    expect(await stack.send(body)).toMatchObject({ status: 202, body: { id: answers[0]!.body.id, status: "sent" } });
    expect(callsTo("idem")).toHaveLength(1);
  });

  it("retries a 500, and fails a 400 at once", async () => {
    stack.platform.respondWith("error");
    const retried = await stack.send({ chatId: "retry", botWxid: "bot-2", text: "again" });
    const s = await eventually(
      async () => {
        const r = await stack.status(String(retried.body.id));
        expect(r.body.status).toBe("sent");
        return r.body as { attempts: Array<{ status: number; outcome: string }> };
      },
      { timeoutMs: 15_000 },
    );
    expect(s.attempts.map((a) => [a.status, a.outcome])).toEqual([
      [500, "retrying"],
      [200, "delivered"],
    ]);
    stack.platform.respondWith("bad_request");
    const refused = await stack.send({ chatId: "refused", botWxid: "bot-2", text: "no" });
    const r = await eventually(async () => {
      const x = await stack.status(String(refused.body.id));
      expect(x.body.status).toBe("failed");
      return x.body as { attempts: unknown[]; platformResponse: unknown };
    });
    expect(r.attempts).toHaveLength(1);
    expect(r.platformResponse).toEqual({ status: 400, body: { code: 400, message: "chatId 不存在" } });
    // The chat is not stuck behind its failed send.
    await stack.send({ chatId: "refused", botWxid: "bot-2", text: "next" });
    await eventually(() => expect(stack.platform.sent().filter((c) => c.chatId === "refused")).toHaveLength(1));
  });
});

describe("the platform's limits", () => {
  it("holds the whole key on a 429 with a plain-string body, uses no attempt, and still sends everything", async () => {
    stack.platform.retryAfter = "1";
    stack.platform.respondWith("rate_limited");
    const ids = [String((await stack.send({ chatId: "slow-0", botWxid: "bot-s0", text: "t0" })).body.id)];
    const limited = await eventually(() => {
      expect(callsTo("slow-0")).toHaveLength(1);
      return callsTo("slow-0")[0]!;
    });
    expect(limited.status).toBe(429);
    // Once the worker has the 429 (it is in the send's record), sends wait for the hold's end,
    // whatever their account or chat. (A call already in flight when the 429 came cannot be held.)
    await eventually(async () => expect((await stack.status(ids[0]!)).body.attempts).toHaveLength(1));
    for (let i = 1; i < 6; i++)
      ids.push(String((await stack.send({ chatId: `slow-${i}`, botWxid: `bot-s${i}`, text: `t${i}` })).body.id));
    await eventually(() => expect(stack.platform.sent().filter((c) => c.chatId.startsWith("slow-"))).toHaveLength(6), {
      timeoutMs: 15_000,
    });
    const calls = stack.platform.calls.filter((c) => c.chatId.startsWith("slow-"));
    expect(calls).toHaveLength(7);
    expect(calls.filter((c) => c.status === 200).every((c) => c.at >= limited.at + 1_000)).toBe(true);
    const limitedId = ids[Number(limited.chatId.slice(5))]!;
    const record = await eventually(async () => {
      const r = (await stack.status(limitedId)).body as { status: string; attempts: Array<Record<string, unknown>> };
      expect(r.status).toBe("sent");
      return r;
    });
    expect(record.attempts.map((a) => [a.status, a.outcome, a.retryAfterMs, a.attempt])).toEqual([
      [429, "rate_limited", 1_000, 1],
      [200, "delivered", null, 1], // the 429 used no attempt
    ]);
    expect(record.attempts[0]!.responseExcerpt).toBe("Too Many Requests");
    stack.platform.retryAfter = null;
  });

  it("holds every send on a 402, shows them held, and `relay send resume` releases them", async () => {
    stack.platform.mode = "quota";
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(String((await stack.send({ chatId: `quota-${i}`, botWxid: `bot-q${i}`, text: `q${i}` })).body.id));
    await eventually(
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await stack.status(id)).body.status));
        expect(statuses).toEqual(["held", "held", "held", "held"]);
      },
      { timeoutMs: 15_000 },
    );
    const stats = await relay(["stats"]);
    expect(stats.stdout).toMatch(/sends: HELD since/);
    expect(await quotaGauge()).toBe(1);
    // Held sends only probe now and then (SEND_PROBE_INTERVAL): no storm of calls.
    const during = stack.platform.calls.filter((c) => c.chatId.startsWith("quota-")).length;
    expect(during).toBeLessThanOrEqual(5);

    stack.platform.mode = "ok";
    const resumed = await relay(["send", "resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resumed sends \(held since/);
    await eventually(async () => {
      const statuses = await Promise.all(ids.map(async (id) => (await stack.status(id)).body.status));
      expect(statuses).toEqual(["sent", "sent", "sent", "sent"]);
    });
    expect((await relay(["stats"])).stdout).toMatch(/sends: not held/);
    expect(await quotaGauge()).toBe(0);
  });

  it("resumes on its own when a held send's probe succeeds", async () => {
    stack.platform.mode = "quota";
    const id = String((await stack.send({ chatId: "probe", botWxid: "bot-p", text: "p" })).body.id);
    await eventually(async () => expect((await stack.status(id)).body.status).toBe("held"), { timeoutMs: 15_000 });
    const heldAt = Date.now();
    stack.platform.mode = "ok";
    // The probe interval (20 s here) after the 402, one held send tries again: its success resumes all.
    await eventually(async () => expect((await stack.status(id)).body.status).toBe("sent"), {
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    expect(Date.now() - heldAt).toBeGreaterThan(10_000);
  }, 60_000);
});

describe("the loop guard", () => {
  it("knows its own send when it comes back: origin api, relaySendId; an origin [contact] destination never gets it", async () => {
    // A customer writes: the relay learns the chat's account, and the assistant gets the message.
    await stack.callback(
      messageCallback("loop-1", { chatId: "loop-chat", botWxid: "bot-loop", text: "在吗", source: 0 }),
    );
    await eventually(() =>
      expect(assistant.deliveries.map((d) => d.body.data)).toContainEqual(
        expect.objectContaining({ messageId: "loop-1" }),
      ),
    );
    // The assistant answers through the send API, without naming the account.
    const sent = await stack.send({ chatId: "loop-chat", text: "在的，请问有什么可以帮您？" });
    expect(sent.status).toBe(202);
    await eventually(() => expect(callsTo("loop-chat")).toHaveLength(1));
    // The platform calls back with the account's own message, sent through the API.
    await stack.callback(
      messageCallback("loop-2", {
        chatId: "loop-chat",
        botWxid: "bot-loop",
        text: "在的，请问有什么可以帮您？",
        isSelf: true,
        source: 6,
      }),
    );
    const echoed = await eventually(() => {
      const d = archive.deliveries.find(
        (x) => (x.body.data as unknown as { messageId: string }).messageId === "loop-2",
      );
      expect(d).toBeDefined();
      return d!.body as WebhookEnvelope;
    });
    expect(echoed.data).toMatchObject({ origin: "api", relaySendId: sent.body.id, isSelf: true });
    // Another customer message after it reaches the assistant; the echo never did.
    await stack.callback(
      messageCallback("loop-3", { chatId: "loop-chat", botWxid: "bot-loop", text: "谢谢", source: 0 }),
    );
    await eventually(() =>
      expect(assistant.deliveries.map((d) => (d.body.data as unknown as { messageId: string }).messageId)).toContain(
        "loop-3",
      ),
    );
    expect(assistant.deliveries.map((d) => (d.body.data as unknown as { messageId: string }).messageId)).not.toContain(
      "loop-2",
    );
  });
});

describe("secrets", () => {
  it("never puts the platform's key or an API key into a log or into Redis", async () => {
    // Everything above ran: sends, retries, 429s, 402s. Scan every key of this stack and every value.
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await stack.redis.scan(cursor, "MATCH", `${stack.prefix}:*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    expect(keys.length).toBeGreaterThan(20);
    const dump: string[] = [];
    for (const key of keys) {
      const type = await stack.redis.type(key);
      if (type === "string") dump.push(String(await stack.redis.get(key)));
      else if (type === "hash") dump.push(JSON.stringify(await stack.redis.hgetall(key)));
      else if (type === "list") dump.push(JSON.stringify(await stack.redis.lrange(key, 0, -1)));
      else if (type === "zset") dump.push(JSON.stringify(await stack.redis.zrange(key, 0, -1, "WITHSCORES")));
      else if (type === "set") dump.push(JSON.stringify(await stack.redis.smembers(key)));
      else if (type === "stream") dump.push(JSON.stringify(await stack.redis.xrange(key, "-", "+")));
      dump.push(key);
    }
    const redisText = dump.join("\n");
    expect(redisText).toContain("您好"); // the scan does read the sends
    for (const secret of [PLATFORM_KEY, API_KEY, "old-key-aaaaaaaaaaaaaaaa"]) {
      expect(redisText).not.toContain(secret);
      expect(stack.ingressLogs.join("\n")).not.toContain(secret);
      for (const worker of stack.workers) expect(JSON.stringify(worker.logs)).not.toContain(secret);
    }
    expect(stack.ingressLogs.join("\n")).toMatch(/send accepted/);
  });
});
