import { CALLBACK_QUEUE, callbackJobName, callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import { storedJobData } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import { processCpuSeconds } from "../lib/machine.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round } from "../lib/stats.ts";

const JOBS = Number(process.env.BENCH_WORKER_JOBS ?? "30000");
const CONCURRENCY = 50;

interface Drain {
  rate: number;
  /** CPU time (user + system) the worker process spent per job, µs: steadier than the rate on a shared VM. */
  cpuUsPerJob: number;
  /** The same for Redis, which runs on the other core. */
  redisCpuUsPerJob: number;
  completed: number;
  failed: number;
  /** Redis used_memory: before filling, once filled, once drained. */
  memory: { empty: number; filled: number; drained: number };
}

/** The jobs the ingress would have stored: one per distinct message, as the platform sends them. */
async function fill(queue: Queue<CallbackJobData>, tag: string): Promise<void> {
  for (let start = 0; start < JOBS; start += 1_000) {
    const chunk = Array.from({ length: Math.min(1_000, JOBS - start) }, (_, i) => {
      const data = storedJobData(`bench-${tag}-${start + i}`);
      return { name: callbackJobName(data), data, opts: callbackJobOptions(data.kind) };
    });
    await queue.addBulk(chunk);
  }
}

type Variant = "noop" | "app" | "app-without-dedup";

async function drain(ctx: BenchContext, variant: Variant, tag: string): Promise<Drain> {
  await ctx.redis.flush();
  const prefix = `benchworker${tag}`;
  const queue = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: ctx.redis.client, prefix });
  const empty = await ctx.redis.usedMemory();
  await fill(queue, tag);
  const filled = await ctx.redis.usedMemory();
  // Completed jobs are all retained (count = JOBS), so that the memory they hold can be measured.
  const child = await startChild("worker", {
    MODE: variant === "noop" ? "noop" : "app",
    // The third variant measures what the event claim (de-duplication) costs: the same worker without it.
    ...(variant === "app-without-dedup" ? { DEDUP_WINDOW: "0" } : {}),
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    CONCURRENCY: String(CONCURRENCY),
    EXPECT: String(JOBS),
    KEEP_COMPLETED_COUNT: String(JOBS),
  });
  const workerCpu = processCpuSeconds(child.pid);
  const redisCpu = processCpuSeconds(ctx.redis.pid);
  try {
    const done = await child.next<{ type: string; completed: number; failed: number; firstAt: number; lastAt: number }>(
      "drained",
      180_000,
    );
    const perJob = (seconds: number) => Math.round((seconds * 1e6) / JOBS);
    const cpuUsPerJob = perJob(processCpuSeconds(child.pid) - workerCpu);
    const redisCpuUsPerJob = perJob(processCpuSeconds(ctx.redis.pid) - redisCpu);
    const drained = await ctx.redis.usedMemory();
    return {
      rate: (done.completed + done.failed - 1) / ((done.lastAt - done.firstAt) / 1000),
      cpuUsPerJob,
      redisCpuUsPerJob,
      completed: done.completed,
      failed: done.failed,
      memory: { empty, filled, drained },
    };
  } finally {
    await child.stop();
    await queue.close();
  }
}

function describe(d: Drain): string {
  const failed = d.failed > 0 ? `, ${d.failed} FAILED` : "";
  return `${Math.round(d.rate)} jobs/s (${d.cpuUsPerJob} + ${d.redisCpuUsPerJob} µs CPU per job, worker + Redis${failed})`;
}

export async function workerThroughput(ctx: BenchContext): Promise<ScenarioResult> {
  const noop: Drain[] = [];
  const app: Drain[] = [];
  const withoutDedup: Drain[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    noop.push(await drain(ctx, "noop", `noop${r}`));
    ctx.log(`  no-op BullMQ worker        round ${r + 1}: ${describe(noop.at(-1)!)}`);
    app.push(await drain(ctx, "app", `app${r}`));
    ctx.log(`  app worker                 round ${r + 1}: ${describe(app.at(-1)!)}`);
    withoutDedup.push(await drain(ctx, "app-without-dedup", `nodedup${r}`));
    ctx.log(`  app worker, DEDUP_WINDOW=0 round ${r + 1}: ${describe(withoutDedup.at(-1)!)}`);
  }
  // Each headline is the round with the median ratio to the no-op worker drained just before it.
  const medianOf = (runs: Drain[]) => {
    const ratios = runs.map((d, r) => d.rate / noop[r]!.rate);
    const r = medianRound(ratios);
    return { drain: runs[r]!, noop: noop[r]!, ratio: ratios[r]!, ratios: ratios.map((x) => round(x)) };
  };
  const withDedup = medianOf(app);
  const noDedup = medianOf(withoutDedup);
  const ratio = withDedup.ratio;
  const ratioWithoutDedup = noDedup.ratio;
  const leastCpu = (runs: Drain[]) => Math.min(...runs.map((d) => d.cpuUsPerJob));
  const leastRedisCpu = (runs: Drain[]) => Math.min(...runs.map((d) => d.redisCpuUsPerJob));
  // Per job: its hash, its entry in the completed set, its event claim, and its share of the events stream.
  const perJob = app.map((d) => (d.memory.drained - d.memory.empty) / JOBS);
  const waitingPerJob = app.map((d) => (d.memory.filled - d.memory.empty) / JOBS);
  const noopPerJob = noop.map((d) => (d.memory.drained - d.memory.empty) / JOBS);
  const bytes = Math.max(...perJob);
  return {
    rows: [
      {
        scenario: `3. worker throughput (${JOBS} jobs, concurrency ${CONCURRENCY}, median of ${ctx.rounds} rounds)`,
        measured: `${Math.round(withDedup.drain.rate)} jobs/s`,
        baseline: `${Math.round(withDedup.noop.rate)} jobs/s no-op`,
        ratio: round(ratio),
        target: ">= 0.90 x no-op",
        met: ratio >= 0.9 && app.every((d) => d.failed === 0),
      },
      {
        scenario: "3. the same, de-duplication off (DEDUP_WINDOW=0: no event claim)",
        measured: `${Math.round(noDedup.drain.rate)} jobs/s`,
        baseline: `${Math.round(noDedup.noop.rate)} jobs/s no-op`,
        ratio: round(ratioWithoutDedup),
        target: ">= 0.90 x no-op",
        met: ratioWithoutDedup >= 0.9 && withoutDedup.every((d) => d.failed === 0),
      },
      {
        scenario: "3. CPU per job, worker + Redis (least of the rounds)",
        measured: `${leastCpu(app)} + ${leastRedisCpu(app)} µs (${leastCpu(withoutDedup)} + ${leastRedisCpu(withoutDedup)} without de-dup)`,
        baseline: `${leastCpu(noop)} + ${leastRedisCpu(noop)} µs no-op`,
        ratio: round(leastCpu(noop) / leastCpu(app)),
        target: "(no-op / app worker: the ceiling of the ratio)",
        met: null,
      },
      {
        scenario: "5. Redis bytes per retained completed job",
        measured: `${Math.round(bytes)} B`,
        baseline: `${Math.round(Math.max(...noopPerJob))} B no-op (no claim)`,
        ratio: round(bytes / Math.max(...noopPerJob)),
        target: "<= 3 KB (3072 B)",
        met: bytes <= 3072,
      },
    ],
    details: {
      jobs: JOBS,
      concurrency: CONCURRENCY,
      noop,
      app,
      withoutDedup,
      ratiosByRound: { app: withDedup.ratios, withoutDedup: noDedup.ratios },
      bytesPerCompletedJob: perJob,
      bytesPerWaitingJob: waitingPerJob,
      noopBytesPerCompletedJob: noopPerJob,
    },
  };
}
