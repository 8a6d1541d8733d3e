import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { acceptSend, SEND_QUEUE, sendJobName, sendJobOptions, type SendJobData } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { startChild } from "../lib/child.ts";
import { processCpuSeconds } from "../lib/machine.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round, sleep } from "../lib/stats.ts";

const SENDS = Number(process.env.BENCH_SENDS ?? "5000");

/** The platform's send endpoint, counting: it answers `{"code":0}` at once, so that it never limits the rate. */
async function startCountingPlatform() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(200, { "content-type": "application/json" }).end('{"code":0,"message":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface Drain {
  sendsPerS: number;
  cpuUsPerSend: number;
}

/** SENDS sends queued beforehand (each to its own chat and account), drained into the counting platform. */
async function drain(ctx: BenchContext, mode: "relay" | "bare", tag: string): Promise<Drain> {
  await ctx.redis.flush();
  const prefix = `benchsend${tag}`;
  const platform = await startCountingPlatform();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: ctx.redis.client, prefix });
  if (mode === "relay") {
    // As the send API accepts them: record, chat line, job.
    for (let start = 0; start < SENDS; start += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, SENDS - start) }, (_, i) =>
          acceptSend(ctx.redis.client, queue, prefix, {
            chatId: `chat-${start + i}`,
            botWxid: `bot-${(start + i) % 50}`,
            message: { type: "text", text: `reply ${start + i}` },
          }),
        ),
      );
    }
  } else {
    for (let start = 0; start < SENDS; start += 1_000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1_000, SENDS - start) }, (_, i) => {
          const n = start + i;
          const data: SendJobData = {
            sendId: `bare-${n}`,
            chatId: `chat-${n}`,
            botWxid: `bot-${n % 50}`,
            message: { type: "text", text: `reply ${n}` },
            acceptedAt: new Date().toISOString(),
          };
          return { name: sendJobName(data), data, opts: sendJobOptions(data.sendId) };
        }),
      );
    }
  }
  const child = await startChild("sender", {
    MODE: mode,
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    PLATFORM_API_URL: platform.url,
    // Enough sends at once that both workers are bound by CPU, not by round trips: capacity, not latency.
    CONCURRENCY: process.env.BENCH_SEND_CONCURRENCY ?? "64",
  });
  const cpu = processCpuSeconds(child.pid);
  try {
    // Timed from the first call to the last, so process start-up is not in the rate.
    while (platform.received() === 0) await sleep(5);
    const started = performance.now();
    for (let waited = 0; platform.received() < SENDS && waited < 180_000; waited += 20) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    if (platform.received() < SENDS) throw new Error(`${mode}: ${platform.received()}/${SENDS} sent`);
    return {
      sendsPerS: SENDS / seconds,
      cpuUsPerSend: Math.round(((processCpuSeconds(child.pid) - cpu) * 1e6) / SENDS),
    };
  } finally {
    await child.stop();
    await queue.close();
    await platform.close();
  }
}

/** Sends per second: the relay's send worker with pacing off vs a bare BullMQ worker calling the same platform. */
export async function sendThroughput(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds: Array<{ relay: Drain; bare: Drain; ratio: number }> = [];
  for (let i = 0; i < ctx.rounds; i++) {
    const bare = await drain(ctx, "bare", `${i}a`);
    const relay = await drain(ctx, "relay", `${i}b`);
    const ratio = relay.sendsPerS / bare.sendsPerS;
    rounds.push({ relay, bare, ratio });
    ctx.log(
      `  round ${i + 1}: relay ${Math.round(relay.sendsPerS)} sends/s (${relay.cpuUsPerSend} µs CPU/send), ` +
        `bare BullMQ ${Math.round(bare.sendsPerS)} sends/s (${bare.cpuUsPerSend} µs CPU/send); ratio ${round(ratio)}`,
    );
  }
  const median = rounds[medianRound(rounds.map((r) => r.ratio))]!;
  return {
    rows: [
      {
        scenario: `10. sends/s to a mock platform, ${SENDS} sends, pacing off (median of ${ctx.rounds} rounds)`,
        measured: `${Math.round(median.relay.sendsPerS)} sends/s`,
        baseline: `${Math.round(median.bare.sendsPerS)} sends/s, bare BullMQ worker + fetch`,
        ratio: round(median.ratio),
        target: ">= 0.8 x bare",
        met: median.ratio >= 0.8,
      },
      {
        scenario: "10. worker CPU per send, relay vs bare (same round)",
        measured: `${median.relay.cpuUsPerSend} µs`,
        baseline: `${median.bare.cpuUsPerSend} µs`,
        ratio: round(median.relay.cpuUsPerSend / median.bare.cpuUsPerSend),
        target: "-",
        met: null,
      },
    ],
    details: { sends: SENDS, rounds },
  };
}
