import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE, callbackJobName, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { CALLBACK_TOKEN, messageBody, storedJobData } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import { processCpuSeconds } from "../lib/machine.ts";
import { pacedLoad } from "../lib/paced-load.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, percentiles, round, sleep } from "../lib/stats.ts";
import { startVerifyingReceiver } from "./end-to-end.ts";

const EVENTS = Number(process.env.BENCH_DESTINATION_EVENTS ?? "10000");
const E2E_SECONDS = Number(process.env.BENCH_DESTINATION_SECONDS ?? "20");
const HANG_SECONDS = Number(process.env.BENCH_HANG_SECONDS ?? "20");

/**
 * A RELAY_CONFIG of `count` destinations, every one taking every event (the worst case of fan-out:
 * each event becomes `count` deliveries), each to its own URL with its own secret.
 */
const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;

export function relayConfig(
  urls: string[],
  secrets = urls.map(newSecret),
): { file: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), "bench-destinations-"));
  const file = join(dir, "relay.yaml");
  const lines = ["destinations:"];
  urls.forEach((url, i) => lines.push(`  - name: dest-${i}`, `    url: ${url}`, `    secret: \${BENCH_SECRET_${i}}`));
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, env: Object.fromEntries(secrets.map((s, i) => [`BENCH_SECRET_${i}`, s])) };
}

/** A destination that takes the request and never answers: the worker gives up at its timeout. */
async function startHangingReceiver() {
  let started = 0;
  const server = createServer((req) => {
    started++;
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    started: () => started,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The worker's CPU per event with one destination on the release before inline delivery (docs/performance.md). */
const CPU_US_PER_EVENT_BEFORE = 564;

/** A receiver that only counts (no signature check: it must never be what limits the worker). */
export async function startCountingReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received: () => received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface Drain {
  eventsPerS: number;
  deliveriesPerS: number;
  cpuUsPerEvent: number;
}

/** EVENTS callbacks pre-filled, drained by the real worker delivering each to `count` destinations. */
async function drain(ctx: BenchContext, count: number, tag: string): Promise<Drain> {
  await ctx.redis.flush();
  const prefix = `benchdest${tag}`;
  const receivers = await Promise.all(Array.from({ length: count }, () => startCountingReceiver()));
  const config = relayConfig(receivers.map((r) => r.url));
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: ctx.redis.client, prefix });
  for (let start = 0; start < EVENTS; start += 1_000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1_000, EVENTS - start) }, (_, i) => {
        const data = storedJobData(`dest-${tag}-${start + i}`);
        return { name: callbackJobName(data), data, opts: callbackJobOptions(data.kind) };
      }),
    );
  }
  const expected = EVENTS * count;
  const delivered = () => receivers.reduce((sum, r) => sum + r.received(), 0);
  const child = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: config.file,
    ...config.env,
  });
  const cpu = processCpuSeconds(child.pid);
  try {
    // Timed from the first delivery to the last, so process start-up is not in the rate.
    while (delivered() === 0) await sleep(5);
    const started = performance.now();
    for (let waited = 0; delivered() < expected && waited < 180_000; waited += 20) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    if (delivered() < expected) throw new Error(`${count} destinations: ${delivered()}/${expected} delivered`);
    return {
      eventsPerS: EVENTS / seconds,
      deliveriesPerS: expected / seconds,
      cpuUsPerEvent: Math.round(((processCpuSeconds(child.pid) - cpu) * 1e6) / EVENTS),
    };
  } finally {
    await child.stop();
    await queue.close();
    await Promise.all(receivers.map((r) => r.close()));
  }
}

/** Events per second with 1 destination and with 3 taking every event, back to back, in each round. */
export async function destinationThroughput(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds: Array<{ one: Drain; three: Drain; ratio: number }> = [];
  for (let i = 0; i < ctx.rounds; i++) {
    const one = await drain(ctx, 1, `${i}a`);
    const three = await drain(ctx, 3, `${i}b`);
    const ratio = three.eventsPerS / one.eventsPerS;
    rounds.push({ one, three, ratio });
    ctx.log(
      `  round ${i + 1}: 1 destination ${Math.round(one.eventsPerS)} events/s (${one.cpuUsPerEvent} µs CPU/event), ` +
        `3 destinations ${Math.round(three.eventsPerS)} events/s = ${Math.round(three.deliveriesPerS)} deliveries/s ` +
        `(${three.cpuUsPerEvent} µs CPU/event); ratio ${round(ratio)}`,
    );
  }
  const median = rounds[medianRound(rounds.map((r) => r.ratio))]!;
  return {
    rows: [
      {
        scenario: `6. events/s, ${EVENTS} events, 3 destinations vs 1 (median of ${ctx.rounds} rounds)`,
        measured: `${Math.round(median.three.eventsPerS)} events/s (${Math.round(median.three.deliveriesPerS)} deliveries/s)`,
        baseline: `${Math.round(median.one.eventsPerS)} events/s with 1`,
        ratio: round(median.ratio),
        target: ">= 0.6 x 1 destination",
        met: median.ratio >= 0.6,
      },
      {
        scenario: "6. worker CPU per event, 1 destination, vs the two-job release (564 µs, measured the same way)",
        measured: `${median.one.cpuUsPerEvent} µs`,
        baseline: `${CPU_US_PER_EVENT_BEFORE} µs`,
        ratio: round(median.one.cpuUsPerEvent / CPU_US_PER_EVENT_BEFORE),
        target: "<= 0.6",
        met: median.one.cpuUsPerEvent <= 0.6 * CPU_US_PER_EVENT_BEFORE,
      },
      {
        scenario: "6. worker CPU per event, 3 destinations vs 1 (same round)",
        measured: `${median.three.cpuUsPerEvent} µs`,
        baseline: `${median.one.cpuUsPerEvent} µs with 1`,
        ratio: round(median.three.cpuUsPerEvent / median.one.cpuUsPerEvent),
        target: "(the work triples: <= 3)",
        met: null,
      },
    ],
    details: { events: EVENTS, rounds },
  };
}

/**
 * Posts at 1000/s to the real ingress; the real worker delivers each event to `count` verifying
 * receivers, and with `hanging`, to one more destination that never answers (its timeout: 10 s).
 */
async function endToEnd(ctx: BenchContext, count: number, { hanging = false, seconds = E2E_SECONDS } = {}) {
  await ctx.redis.flush();
  const prefix = `benchdeste2e${count}${hanging ? "h" : ""}`;
  const tag = randomBytes(4).toString("hex");
  // Each receiver verifies with its own destination's secret.
  const secrets = Array.from({ length: count }, newSecret);
  const verifying = await Promise.all(secrets.map((secret) => startVerifyingReceiver(secret)));
  const hung = hanging ? await startHangingReceiver() : null;
  const config = relayConfig(
    [...verifying.map((r) => r.url), ...(hung ? [hung.url] : [])],
    [...secrets, ...(hung ? [newSecret()] : [])],
  );
  const ingress = await startChild("ingress", { REDIS_URL: ctx.redis.url, QUEUE_PREFIX: prefix, CALLBACK_TOKEN });
  const worker = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: config.file,
    ...config.env,
  });
  const sentAt = new Map<string, number>();
  const post = (label: string, ms: number) =>
    pacedLoad({
      url: `${String(ingress.ready.url)}/notice`,
      rate: 1_000,
      durationMs: ms,
      connections: 50,
      body: (seq) => messageBody(`dest-${tag}-${label}-${seq}`),
      onSent: (seq, at) => label === "run" && sentAt.set(`msg_dest-${tag}-${label}-${seq}`, at),
    });
  const arrived = () =>
    verifying.reduce((sum, r) => sum + [...r.arrivals.keys()].filter((id) => sentAt.has(id)).length, 0);
  try {
    const warm = await post("warm", 2_000);
    for (let waited = 0; verifying.some((r) => r.arrivals.size < warm.sent) && waited < 10_000; waited += 100) {
      await sleep(100);
    }
    for (const r of verifying) r.arrivals.clear();
    const paced = await post("run", seconds * 1000);
    const accepted = paced.statuses["200"] ?? 0;
    for (
      let last = -1, waited = 0;
      arrived() < accepted * count && arrived() !== last && waited < 30_000;
      waited += 2_000
    ) {
      last = arrived();
      await sleep(2_000);
    }
    const latencies = verifying.flatMap((r) =>
      [...r.arrivals].filter(([id]) => sentAt.has(id)).map(([id, at]) => at - sentAt.get(id)!),
    );
    return {
      count,
      hanging,
      hungRequests: hung?.started() ?? 0,
      posted: paced.sent,
      accepted,
      delivered: latencies.length,
      expected: accepted * count,
      badSignatures: verifying.reduce((sum, r) => sum + r.badSignatures(), 0),
      endToEndMs: percentiles(latencies),
    };
  } finally {
    // The hanging destination first: the worker's close would otherwise wait on its open requests.
    await hung?.close();
    await ingress.stop();
    await worker.stop();
    await Promise.all(verifying.map((r) => r.close()));
  }
}

/** A destination that hangs beside two healthy ones: the healthy ones' p95, against all healthy, back to back. */
export async function hangingDestination(ctx: BenchContext): Promise<ScenarioResult> {
  const healthy = await endToEnd(ctx, 2, { seconds: HANG_SECONDS });
  const hanging = await endToEnd(ctx, 2, { hanging: true, seconds: HANG_SECONDS });
  for (const r of [healthy, hanging]) {
    ctx.log(
      `  2 healthy destinations${r.hanging ? " + 1 that never answers" : ""}, 1000/s for ${HANG_SECONDS} s: ${r.delivered}/${r.expected} healthy deliveries; ` +
        `p50 ${round(r.endToEndMs.p50)} ms, p95 ${round(r.endToEndMs.p95)} ms, p99 ${round(r.endToEndMs.p99)} ms` +
        (r.hanging ? `; the hanging one got ${r.hungRequests} requests` : ""),
    );
  }
  const ratio = hanging.endToEndMs.p95 / healthy.endToEndMs.p95;
  return {
    rows: [
      {
        scenario: `10. healthy destinations' p95 at 1000/s for ${HANG_SECONDS} s beside one that hangs, vs all healthy`,
        measured: `${round(hanging.endToEndMs.p95)} ms`,
        baseline: `${round(healthy.endToEndMs.p95)} ms all healthy`,
        ratio: round(ratio),
        target: "<= 1.2",
        met: ratio <= 1.2 && hanging.delivered === hanging.expected,
      },
    ],
    details: { healthy, hanging },
  };
}

/** End-to-end p99 at 1000 events/s, with 1 destination and with 3 (every event to each). */
export async function destinationLatency(ctx: BenchContext): Promise<ScenarioResult> {
  const one = await endToEnd(ctx, 1);
  const three = await endToEnd(ctx, 3);
  for (const r of [one, three]) {
    ctx.log(
      `  ${r.count} destination(s), 1000/s for ${E2E_SECONDS} s: ${r.posted} posted, ${r.accepted} acked, ${r.delivered}/${r.expected} deliveries verified, ` +
        `${r.badSignatures} bad signatures; p50 ${round(r.endToEndMs.p50)} ms, p99 ${round(r.endToEndMs.p99)} ms, max ${round(r.endToEndMs.max)} ms`,
    );
  }
  const ratio = three.endToEndMs.p99 / one.endToEndMs.p99;
  const complete = (r: typeof one) => r.delivered === r.expected && r.accepted === r.posted && r.badSignatures === 0;
  return {
    rows: [
      {
        scenario: `7. end to end at 1000/s for ${E2E_SECONDS} s, 3 destinations vs 1: p50 / p99`,
        measured: `${round(three.endToEndMs.p50)} / ${round(three.endToEndMs.p99)} ms`,
        baseline: `${round(one.endToEndMs.p50)} / ${round(one.endToEndMs.p99)} ms with 1`,
        ratio: round(ratio),
        target: "p99 <= 2 x 1 destination",
        met: ratio <= 2,
      },
      {
        scenario: `7. end to end at 1000/s for ${E2E_SECONDS} s, 1 destination: p99`,
        measured: `${round(one.endToEndMs.p99)} ms`,
        baseline: "12.4 ms on release 4cc04a3 (before destinations), quiet machine",
        ratio: null,
        target: "p99 <= 15 ms (quiet machine)",
        met: null,
      },
      {
        scenario: "7. every acked callback delivered to each destination, signed with its secret",
        measured: [one, three].map((r) => `${r.delivered}/${r.expected}`).join(", "),
        baseline: "-",
        ratio: null,
        target: "all, 0 bad signatures",
        met: complete(one) && complete(three),
      },
    ],
    details: { one, three },
  };
}
