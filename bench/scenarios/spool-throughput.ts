import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLBACK_QUEUE } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { CALLBACK_TOKEN, messageBody } from "../lib/body.ts";
import { cannon, type CannonRun } from "../lib/cannon.ts";
import { placement, startChild, type BenchChild } from "../lib/child.ts";
import { pin, processCpuSeconds } from "../lib/machine.ts";
import { startBenchRedis, type AofMode } from "../lib/redis.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round, sleep } from "../lib/stats.ts";
import { CONNECTIONS } from "./ingress-throughput.ts";

const WARMUP_S = 3;
const MEASURE_S = 10;
// The drain is measured at what it can do, not at the production cap (SPOOL_DRAIN_RATE, 1000/s by
// default), which would only measure the cap. BENCH_SPOOL_DRAIN_RATE sets another.
const DRAIN_RATE = process.env.BENCH_SPOOL_DRAIN_RATE ?? "1000000";

interface Phase {
  run: CannonRun;
  cpuUsPerRequest: number;
}

interface Round {
  normal: Phase;
  spooling: Phase;
  /** Callbacks in the spool when Redis came back, and how fast they reached the queue. */
  drain: { callbacks: number; seconds: number; rate: number };
  /** Jobs in Redis once drained, against every 2xx of the round. */
  jobs: number;
  acknowledged: number;
}

interface SpoolReady {
  redis: string;
  spool: { state: string; callbacks: number };
}

async function readyz(url: string): Promise<SpoolReady> {
  return (await (await fetch(`${url}/readyz`)).json()) as SpoolReady;
}

/** Warm-up, then a run bounded by count (every request answered before it ends). */
async function phase(url: string, body: string, child: BenchChild): Promise<Phase & { warm: CannonRun }> {
  const warm = await cannon({ url, body, connections: CONNECTIONS, durationS: WARMUP_S });
  await sleep(500);
  const cpu = processCpuSeconds(child.pid);
  const amount = Math.max(5_000, Math.round(warm.rate * MEASURE_S));
  const run = await cannon({ url, body, connections: CONNECTIONS, amount });
  const cpuUsPerRequest = Math.round(((processCpuSeconds(child.pid) - cpu) * 1e6) / Math.max(1, run.ok2xx));
  return { warm, run, cpuUsPerRequest };
}

async function measureRound(ctx: BenchContext, aof: AofMode, body: string, r: number): Promise<Round> {
  // A Redis of its own, stopped and started again in the middle of the round.
  const redis = await startBenchRedis(aof);
  // Where bench/run.ts put the shared Redis for a pinned scenario: beside the load generator.
  const pinRedis = () => placement.serverCpus === "1" && pin(redis.pid, "0");
  pinRedis();
  const dir = mkdtempSync(join(tmpdir(), "yuju-bench-spool-"));
  const prefix = `benchspool${r}`;
  const child = await startChild("ingress", {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    CALLBACK_TOKEN,
    SPOOL_DIR: dir,
    SPOOL_DRAIN_RATE: DRAIN_RATE,
    // Its /readyz says how many callbacks the spool holds.
    OPS_PORT: "0",
  });
  const url = `${String(child.ready.url)}/notice`;
  const ops = String(child.ready.ops);
  try {
    const normal = await phase(url, body, child);
    const beforeOutage = await countJobs(redis.url, prefix);
    await redis.stop();
    const spooling = await phase(url, body, child);
    await sleep(500);
    const spooled = (await readyz(ops)).spool.callbacks;

    await redis.start();
    pinRedis();
    // From the first callback drained to the last: the reconnect (up to a second) is not the drain.
    let first: { at: number; left: number } | null = null;
    let done = 0;
    for (;;) {
      const state = await readyz(ops);
      const now = performance.now();
      if (!first && state.spool.callbacks < spooled) first = { at: now, left: state.spool.callbacks };
      if (state.spool.state === "empty") {
        done = now;
        break;
      }
      await sleep(20);
    }
    const drainedFrom = first ?? { at: done, left: 0 };
    const seconds = Math.max(0.001, (done - drainedFrom.at) / 1000);
    // What was left at the first sign of draining went to the queue in `seconds`.
    const drain = { callbacks: spooled, seconds: round(seconds), rate: drainedFrom.left / seconds };
    const jobs = await countJobs(redis.url, prefix);
    return {
      normal,
      spooling,
      drain,
      jobs: jobs - beforeOutage,
      acknowledged: spooled,
    };
  } finally {
    await child.stop();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function countJobs(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(CALLBACK_QUEUE, { connection: client, prefix });
  try {
    return await queue.count();
  } finally {
    await queue.close();
    client.disconnect();
  }
}

/**
 * 9. The ingress while Redis is away: its throughput when every callback goes to the spool (an
 * append and a group fsync) against its own throughput with Redis up, in the same round on the same
 * body; then how fast the spool drains into the queue once Redis is back.
 */
export async function spoolThroughput(ctx: BenchContext, aof: AofMode): Promise<ScenarioResult> {
  const body = messageBody();
  const rounds: Round[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const m = await measureRound(ctx, aof, body, r);
    rounds.push(m);
    const line = (name: string, p: Phase) =>
      `${name} ${Math.round(p.run.rate)} req/s, CPU per request ${p.cpuUsPerRequest} µs, p99 ${p.run.latency.p99} ms, ${p.run.non2xx} non-2xx, ${p.run.errors} errors`;
    ctx.log(`  round ${r + 1}: ${line("Redis up:", m.normal)}`);
    ctx.log(`           ${line("spooling:", m.spooling)}`);
    ctx.log(
      `           drain: ${m.drain.callbacks} callbacks in ${m.drain.seconds} s (${Math.round(m.drain.rate)}/s); ${m.jobs} jobs in Redis for ${m.acknowledged} spooled`,
    );
  }
  const ratios = rounds.map((m) => m.spooling.run.rate / m.normal.run.rate);
  const median = medianRound(ratios);
  const m = rounds[median]!;
  const drainRates = rounds.map((x) => x.drain.rate).sort((a, b) => a - b);
  const allSpooled = rounds.every(
    (x) => x.jobs === x.acknowledged && x.spooling.run.non2xx === 0 && x.spooling.run.errors === 0,
  );
  return {
    rows: [
      {
        scenario: `9. ingress throughput while spooling (Redis away; 1 KB, ${CONNECTIONS} conns, median of ${ctx.rounds})`,
        measured: `${Math.round(m.spooling.run.rate)} req/s (${m.spooling.cpuUsPerRequest} µs CPU/req)`,
        baseline: `${Math.round(m.normal.run.rate)} req/s Redis up (${m.normal.cpuUsPerRequest} µs)`,
        ratio: round(ratios[median]!),
        target: ">= 0.70 x Redis up",
        met: ratios[median]! >= 0.7,
      },
      {
        scenario: "9. every spooled 2xx is a job once drained (all rounds)",
        measured: rounds.map((x) => `${x.jobs}/${x.acknowledged}`).join(", "),
        baseline: "-",
        ratio: null,
        target: "jobs = spooled, no errors",
        met: allSpooled,
      },
      {
        scenario: `9. drain rate once Redis is back (SPOOL_DRAIN_RATE=${DRAIN_RATE}, median)`,
        measured: `${Math.round(drainRates[Math.floor((drainRates.length - 1) / 2)]!)} callbacks/s`,
        baseline: `${Math.round(m.normal.run.rate)} req/s live`,
        ratio: null,
        target: "(production caps it: SPOOL_DRAIN_RATE, 1000/s)",
        met: null,
      },
    ],
    details: {
      connections: CONNECTIONS,
      warmupS: WARMUP_S,
      measureS: MEASURE_S,
      drainRate: DRAIN_RATE,
      ratiosByRound: ratios.map((x) => round(x)),
      rounds,
    },
  };
}
