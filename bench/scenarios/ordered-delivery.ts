import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { storedJobData } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round } from "../lib/stats.ts";

const CONVERSATIONS = Number(process.env.BENCH_ORDERED_CONVERSATIONS ?? "1000");
const EVENTS = Number(process.env.BENCH_ORDERED_EVENTS ?? "20000");
const HOT_EVENTS = Number(process.env.BENCH_HOT_EVENTS ?? "2000");
const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

/** The destination: answers at once, notes when each event first arrived and in what order per chat. */
async function startReceiver() {
  const arrivals: number[] = [];
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  let outOfOrder = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const id = String(req.headers["webhook-id"]);
      if (!seen.has(id)) {
        seen.add(id);
        arrivals.push(performance.now());
        const { chatId, messageId } = (
          JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            data: { chatId: string; messageId: string };
          }
        ).data;
        const seq = Number(messageId.split("-").at(-1));
        if (seq < (lastSeq.get(chatId) ?? -1)) outOfOrder++;
        lastSeq.set(chatId, seq);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    arrivals,
    outOfOrder: () => outOfOrder,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface Drain {
  rate: number;
  outOfOrder: number;
}

/**
 * Pre-fills the callbacks queue with `events` messages spread round-robin over `conversations`
 * chats (message n of a chat is `…-n`), starts the real worker (one process, default concurrency)
 * with one destination, ordered or not, and measures the deliveries per second the destination
 * receives, from the worker being ready to the last first arrival: the whole pipeline, fan-out
 * included (an ordered delivery waits for the fan-out of every older callback).
 */
async function drain(ctx: BenchContext, ordered: boolean, conversations: number, events: number): Promise<Drain> {
  await ctx.redis.flush();
  const tag = randomBytes(4).toString("hex");
  const prefix = `benchordered${tag}`;
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), "bench-ordered-"));
  const configPath = join(dir, "relay.yaml");
  writeFileSync(
    configPath,
    `destinations:\n  - name: assistant\n    url: ${receiver.url}\n    secret: \${BENCH_SECRET}\n    ordering: ${ordered ? "per-conversation" : "none"}\n`,
  );
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: ctx.redis.client, prefix });
  for (let start = 0; start < events; start += 1_000) {
    const chunk = Array.from({ length: Math.min(1_000, events - start) }, (_, k) => {
      const i = start + k;
      const data = storedJobData(`b-${tag}-${i % conversations}-${Math.floor(i / conversations)}`);
      (data.body.data as Record<string, unknown>).chatId = `chat-${i % conversations}`;
      return { name: data.kind, data, opts: callbackJobOptions(data.kind) };
    });
    await queue.addBulk(chunk);
  }
  const worker = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: configPath,
    BENCH_SECRET: SECRET,
  });
  const readyAt = performance.now();
  try {
    const deadline = Date.now() + 300_000;
    while (receiver.arrivals.length < events) {
      if (Date.now() > deadline) throw new Error(`only ${receiver.arrivals.length}/${events} delivered in 300 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = receiver.arrivals.at(-1)!;
    return { rate: events / ((last - readyAt) / 1000), outOfOrder: receiver.outOfOrder() };
  } finally {
    await worker.stop();
    await queue.close();
    await receiver.close();
  }
}

export async function orderedDelivery(ctx: BenchContext): Promise<ScenarioResult> {
  const unordered: Drain[] = [];
  const ordered: Drain[] = [];
  const hot: Drain[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    unordered.push(await drain(ctx, false, CONVERSATIONS, EVENTS));
    ctx.log(
      `  unordered, ${CONVERSATIONS} conversations round ${r + 1}: ${Math.round(unordered.at(-1)!.rate)} deliveries/s`,
    );
    ordered.push(await drain(ctx, true, CONVERSATIONS, EVENTS));
    const o = ordered.at(-1)!;
    ctx.log(
      `  ordered,   ${CONVERSATIONS} conversations round ${r + 1}: ${Math.round(o.rate)} deliveries/s (${o.outOfOrder} out of order)`,
    );
    hot.push(await drain(ctx, true, 1, HOT_EVENTS));
    ctx.log(`  ordered, one hot conversation    round ${r + 1}: ${Math.round(hot.at(-1)!.rate)} deliveries/s`);
  }
  const ratios = ordered.map((o, r) => o.rate / unordered[r]!.rate);
  const m = medianRound(ratios);
  const hotRates = hot.map((h) => h.rate).sort((a, b) => a - b);
  const hotMedian = hotRates[Math.floor(hotRates.length / 2)]!;
  const outOfOrder = [...ordered, ...hot].reduce((sum, d) => sum + d.outOfOrder, 0);
  return {
    rows: [
      {
        scenario: `8. ordered vs unordered, ${CONVERSATIONS} conversations, ${EVENTS} events (median of ${ctx.rounds})`,
        measured: `${Math.round(ordered[m]!.rate)} deliveries/s`,
        baseline: `${Math.round(unordered[m]!.rate)} deliveries/s unordered`,
        ratio: round(ratios[m]!),
        target: ">= 0.70 x unordered",
        met: ratios[m]! >= 0.7 && outOfOrder === 0,
      },
      {
        scenario: `8. one hot conversation, ${HOT_EVENTS} events: its own rate`,
        measured: `${Math.round(hotMedian)} deliveries/s (${round(1000 / hotMedian)} ms each)`,
        baseline: "one delivery at a time",
        ratio: null,
        target: "(reported)",
        met: null,
      },
    ],
    details: { ratios: ratios.map((x) => round(x)), unordered, ordered, hot, outOfOrder },
  };
}
