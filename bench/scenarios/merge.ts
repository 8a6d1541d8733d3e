import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE, callbackJobName, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { storedJobData } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import { processCpuSeconds } from "../lib/machine.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round, sleep } from "../lib/stats.ts";

const MESSAGES = Number(process.env.BENCH_MERGE_MESSAGES ?? "10000");
/** Messages per chat: a customer's burst. */
const PER_CHAT = 4;

/** Counts the messages delivered, whether one by one or in bursts. */
async function startMessageCounter() {
  let messages = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: { messages?: unknown[] } };
      messages += body.data.messages?.length ?? 1;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    messages: () => messages,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface Drain {
  messagesPerS: number;
  cpuUsPerMessage: number;
}

/** MESSAGES callbacks pre-filled, PER_CHAT per chat, drained by the real worker to one destination. */
async function drain(ctx: BenchContext, merge: boolean, tag: string): Promise<Drain> {
  await ctx.redis.flush();
  const prefix = `benchmerge${tag}`;
  const receiver = await startMessageCounter();
  const dir = mkdtempSync(join(tmpdir(), "bench-merge-"));
  const file = join(dir, "relay.yaml");
  writeFileSync(
    file,
    `destinations:\n  - name: assistant\n    url: ${receiver.url}\n    secret: \${BENCH_SECRET}\n` +
      (merge ? "    merge: { quiet: 100ms, maxWait: 2s, maxMessages: 20 }\n" : ""),
  );
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: ctx.redis.client, prefix });
  for (let start = 0; start < MESSAGES; start += 1_000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1_000, MESSAGES - start) }, (_, i) => {
        const n = start + i;
        const data = storedJobData(`merge-${tag}-${n}`);
        data.body.data.chatId = `chat-${Math.floor(n / PER_CHAT)}`;
        return { name: callbackJobName(data), data, opts: callbackJobOptions(data.kind) };
      }),
    );
  }
  const child = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: file,
    BENCH_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
  });
  const cpu = processCpuSeconds(child.pid);
  try {
    const started = performance.now();
    for (let waited = 0; receiver.messages() < MESSAGES && waited < 180_000; waited += 20) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    if (receiver.messages() < MESSAGES) throw new Error(`merge ${merge}: ${receiver.messages()}/${MESSAGES} delivered`);
    return {
      messagesPerS: MESSAGES / seconds,
      cpuUsPerMessage: Math.round(((processCpuSeconds(child.pid) - cpu) * 1e6) / MESSAGES),
    };
  } finally {
    await child.stop();
    await queue.close();
    await receiver.close();
  }
}

/** Worker CPU per message, delivered one by one and merged into bursts of PER_CHAT, back to back in each round. */
export async function mergeCost(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds: Array<{ plain: Drain; merged: Drain; ratio: number }> = [];
  for (let i = 0; i < ctx.rounds; i++) {
    const plain = await drain(ctx, false, `${i}a`);
    const merged = await drain(ctx, true, `${i}b`);
    const ratio = merged.cpuUsPerMessage / plain.cpuUsPerMessage;
    rounds.push({ plain, merged, ratio });
    ctx.log(
      `  round ${i + 1}: one by one ${plain.cpuUsPerMessage} µs CPU/message (${Math.round(plain.messagesPerS)}/s), ` +
        `merged ${merged.cpuUsPerMessage} µs CPU/message (${Math.round(merged.messagesPerS)}/s); ratio ${round(ratio)}`,
    );
  }
  const median = rounds[medianRound(rounds.map((r) => r.ratio))]!;
  return {
    rows: [
      {
        scenario: `10. worker CPU per message with merge (bursts of ${PER_CHAT}) vs without (${MESSAGES} messages)`,
        measured: `${median.merged.cpuUsPerMessage} µs merged`,
        baseline: `${median.plain.cpuUsPerMessage} µs one by one`,
        ratio: round(median.ratio),
        target: "<= 1.3 x without",
        met: median.ratio <= 1.3,
      },
    ],
    details: { messages: MESSAGES, perChat: PER_CHAT, rounds },
  };
}
