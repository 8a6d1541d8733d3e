import { CALLBACK_QUEUE, deliveryQueueName, type CallbackJobData, type DeliveryJobData } from "@yuju-relay/queue";
import {
  eventually,
  freePort,
  sendCallback,
  spawnApp,
  startReceiver,
  uniquePrefix,
  type AppProcess,
  type Receiver,
} from "@yuju-relay/testing";
import { Queue } from "bullmq";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

// Enough bodies to meet every shape below many times; each takes a round trip and a job (~20 ms).
const RUNS = 400;

// ---- What the platform (or anyone who finds the URL) might send, as raw JSON text. ----

const hostileString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 20 }), // Chinese, emoji, combining marks
  fc.string({ unit: "binary", maxLength: 20 }), // any code point, lone surrogates included
  fc.string({ unit: fc.constantFrom("\r", "\n", "\0", "\t", "\u2028", "中", "😀", " ", "a"), maxLength: 12 }),
  fc.constantFrom("", " ", "中文消息", "😀", "a\r\nb", "nul\0", "x".repeat(300), "__proto__", "constructor"),
);
const stringText = hostileString.map((s) => JSON.stringify(s));
const hugeIntegerText = fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String);
const numberText = fc.oneof(
  hugeIntegerText,
  fc.double().map((n) => JSON.stringify(n)),
  fc.constantFrom("9007199254740993", "9007199254740992", "1e999", "-0", "1.5", "0"),
);
const keyText = fc
  .oneof(
    hostileString,
    fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "token",
      " token",
      "data",
      "roomWecomChatId\t",
    ),
  )
  .map((k) => JSON.stringify(k));
const scalarText = fc.oneof(stringText, numberText, fc.constantFrom("true", "false", "null"));
const { valueText } = fc.letrec<{ valueText: string }>((tie) => ({
  valueText: fc.oneof(
    { depthSize: "small" },
    scalarText,
    fc.array(tie("valueText"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc
      .array(fc.tuple(keyText, tie("valueText")), { maxLength: 4 })
      .map((entries) => `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`),
  ),
}));
const objectText = fc
  .array(fc.tuple(keyText, valueText), { maxLength: 5 })
  .map((entries) => `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`);
// Ids: mostly the right types with hostile values (these reach delivery), sometimes the wrong types.
const idText = fc.oneof(
  { arbitrary: stringText, weight: 4 },
  { arbitrary: hugeIntegerText, weight: 2 },
  { arbitrary: numberText, weight: 1 },
  { arbitrary: fc.constantFrom("null", "true", "{}", "[]", '{"__proto__":1}'), weight: 1 },
);
const typeText = fc.oneof(
  { arbitrary: fc.integer({ min: -1, max: 10_002 }).map(String), weight: 4 },
  { arbitrary: fc.constantFrom('"7"', "7.5", '"seven"', "null", "[]"), weight: 1 },
);
const extraFields = fc
  .array(fc.tuple(keyText, valueText), { maxLength: 3 })
  .map((entries) => entries.map(([k, v]) => `,${k}:${v}`).join(""));

const messageBody = fc
  .record({
    messageId: idText,
    type: typeText,
    roomId: idText,
    payload: fc.oneof({ arbitrary: objectText, weight: 4 }, { arbitrary: valueText, weight: 1 }),
    extra: extraFields,
  })
  .map(
    ({ messageId, type, roomId, payload, extra }) =>
      `{"data":{"messageId":${messageId},"type":${type},"roomId":${roomId},"payload":${payload}${extra}}}`,
  );
// Valid in shape, hostile in value: these go all the way to signed delivery.
const deliverableMessageBody = fc
  .record({
    messageId: fc.oneof(
      stringText.filter((t) => JSON.parse(t).trim() !== ""),
      hugeIntegerText,
    ),
    roomId: fc.oneof(stringText, hugeIntegerText),
    payload: objectText,
  })
  .map(
    ({ messageId, roomId, payload }) =>
      `{"data":{"messageId":${messageId},"type":7,"roomId":${roomId},"payload":${payload},"contactName":${messageId}}}`,
  );
const roomBody = fc
  .record({
    roomId: idText,
    members: fc.array(fc.tuple(idText, extraFields), { maxLength: 4 }),
    list: fc.constantFrom("leftMember", "leftMembers", "joinedMember", "joinedMembers"),
    timestamp: scalarText,
  })
  .map(
    ({ roomId, members, list, timestamp }) =>
      `{"imRoomId":${roomId},"${list}":[${members.map(([id, extra]) => `{"imContactId":${id}${extra}}`).join(",")}],"timestamp":${timestamp}}`,
  );
const deepBody = fc
  .oneof(fc.integer({ min: 55, max: 70 }), fc.integer({ min: 1, max: 5_000 }))
  .map((depth) => `{"data":{"messageId":"deep-${depth}","type":7,"payload":${"[".repeat(depth)}${"]".repeat(depth)}}}`);
const hugeArrayBody = fc.oneof(
  fc
    .integer({ min: 1_000, max: 100_000 })
    .map((n) => `{"data":{"messageId":"huge-${n}","type":7,"payload":{"items":[${"0,".repeat(n)}0]}}}`),
  fc
    .integer({ min: 100, max: 20_000 })
    .map(
      (n) =>
        `{"imRoomId":"r-huge-${n}","leftMember":[${Array.from({ length: n }, (_, i) => `{"imContactId":"c${i}"}`).join(",")}]}`,
    ),
);
const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xe4, 0xb8]];
/** The text as UTF-8, with invalid byte sequences spliced in at random places (in strings or not). */
const withInvalidUtf8 = (text: fc.Arbitrary<string>) =>
  fc
    .tuple(text, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8)), { minLength: 1, maxLength: 3 }))
    .map(([body, cuts]) => {
      let bytes = Buffer.from(body, "utf8");
      for (const [at, bad] of cuts) {
        const i = at % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
      }
      return bytes;
    });

const hostileBody: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: messageBody.map((t) => Buffer.from(t)), weight: 4 },
  { arbitrary: deliverableMessageBody.map((t) => Buffer.from(t)), weight: 4 },
  { arbitrary: roomBody.map((t) => Buffer.from(t)), weight: 3 },
  { arbitrary: deepBody.map((t) => Buffer.from(t)), weight: 1 },
  { arbitrary: hugeArrayBody.map((t) => Buffer.from(t)), weight: 1 },
  { arbitrary: withInvalidUtf8(fc.oneof(messageBody, roomBody)), weight: 2 },
  { arbitrary: anyJson.map((t) => Buffer.from(t)), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
);

// ---- The property: over a real ingress and a real worker, as child processes. ----

describe("hostile callbacks against a real ingress and worker (generative)", () => {
  const prefix = uniquePrefix("hostile");
  let receiver: Receiver;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;
  let redis: Redis;
  let queue: Queue<CallbackJobData>;
  // FORWARD_URL is the destination `default`: its delivery jobs are in this queue.
  let deliveries: Queue<DeliveryJobData>;

  beforeAll(async () => {
    receiver = await startReceiver();
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = new Queue(CALLBACK_QUEUE, { connection: redis, prefix });
    deliveries = new Queue(deliveryQueueName("default"), { connection: redis, prefix });
    const port = await freePort();
    ingressUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
    ingress = spawnApp("ingress", { ...shared, PORT: String(port), HOST: "127.0.0.1" });
    worker = spawnApp("worker", {
      ...shared,
      LOG_LEVEL: "info",
      FORWARD_URL: receiver.url,
      FORWARD_SECRET: SECRET,
      RETRY_BASE_DELAY: "20ms",
      WORKER_CONCURRENCY: "8",
    });
    await Promise.all([ingress.waitForLog(/CALLBACK_TOKEN is not set/), worker.waitForLog(/worker started/)]);
    await eventually(async () => expect((await fetch(`${ingressUrl}/readyz`)).status).toBe(200));
  });
  afterAll(async () => {
    await Promise.all([ingress.stop("SIGKILL"), worker.stop("SIGKILL")]);
    await queue.close();
    await deliveries.close();
    await redis.quit();
    await receiver.close();
  });

  it(
    "never kills a process, answers every body with 200 or a clear 4xx, and every 200 ends delivered or failed with a reason",
    { timeout: 180_000 },
    async () => {
      let accepted = 0;
      const answers = new Map<number, number>();
      const finished = async () => (await queue.getCompletedCount()) + (await queue.getFailedCount());
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => {
          const path = fc.sample(fc.constantFrom("/notice", "/room/left", "/room/joined", "/leave-group"), 1)[0]!;
          const answer = await sendCallback(`${ingressUrl}${path}`, body, "POST");
          answers.set(answer.status, (answers.get(answer.status) ?? 0) + 1);
          expect([200, 400, 413, 422], JSON.stringify(answer.body)).toContain(answer.status);
          if (answer.status !== 200) expect(String(answer.body.error)).not.toBe("");
          if (answer.status === 200) {
            accepted += 1;
            // Each accepted callback's job finishes (completed, or failed for good) before the next body.
            await eventually(async () => expect(await finished()).toBe(accepted), { timeoutMs: 15_000 });
          }
          expect(ingress.child.exitCode).toBeNull();
          expect(worker.child.exitCode).toBeNull();
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      process.stdout.write(
        `hostile callbacks: ${RUNS} bodies, answers ${JSON.stringify(Object.fromEntries(answers))}, ${receiver.deliveries.length} deliveries\n`,
      );

      // Every failed job, callback or delivery, says why, in words (no stack trace, no empty reason).
      await eventually(
        async () => expect(await deliveries.getJobCountByTypes("waiting", "active", "delayed")).toBe(0),
        {
          timeoutMs: 30_000,
        },
      );
      const failed = await queue.getFailed(0, -1);
      const failedDeliveries = await deliveries.getFailed(0, -1);
      for (const job of [...failed, ...failedDeliveries]) {
        expect(job.failedReason, job.id).toMatch(/\S/);
        expect(job.failedReason, job.id).not.toMatch(/\n\s+at /);
        expect(job.failedReason.length, job.id).toBeLessThan(3_000);
      }
      // Every completed callback job was delivered (its event id reached the endpoint as webhook-id),
      // or its delivery failed with a reason, or it was a duplicate of one that was.
      const webhookIds = new Set(receiver.deliveries.map((d) => String(d.headers["webhook-id"])));
      for (const job of failedDeliveries) webhookIds.add(job.data.event.id);
      for (const job of await queue.getCompleted(0, -1)) {
        const result = job.returnvalue as { outcome: string; eventId: string };
        expect(["queued", "duplicate"]).toContain(result.outcome);
        expect(webhookIds.has(result.eventId), result.eventId).toBe(true);
      }
      expect(failed.length + (await queue.getCompletedCount())).toBe(accepted);
      // Both still shut down cleanly.
      expect(await ingress.stop("SIGTERM")).toBe(0);
      expect(await worker.stop("SIGTERM")).toBe(0);
    },
  );
});
