import { CALLBACK_TOKEN, messageBody } from "../lib/body.ts";
import { cannon } from "../lib/cannon.ts";
import { startChild } from "../lib/child.ts";
import { pacedLoad, type PacedResult } from "../lib/paced-load.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { percentiles, round, sleep } from "../lib/stats.ts";
import { CONNECTIONS } from "./ingress-throughput.ts";

const MEASURE_MS = 10_000;

const ms = (value: number) => `${round(value, 2)} ms`;
const describe = (p: ReturnType<typeof percentiles>) => `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, p99.9 ${ms(p.p999)}`;

/** Warm up at full speed, then hold the rate with the paced generator; latency of every answer. */
async function pacedAgainst(server: "ingress" | "bare-koa" | "koa-redis", ctx: BenchContext, rate: number) {
  await ctx.redis.flush();
  const child = await startChild(server, { REDIS_URL: ctx.redis.url, QUEUE_PREFIX: "benchlatency", CALLBACK_TOKEN });
  const url = `${String(child.ready.url)}/notice`;
  const body = messageBody();
  try {
    await cannon({ url, body, connections: CONNECTIONS, durationS: 2 });
    await sleep(300);
    const paced: PacedResult = await pacedLoad({
      url,
      rate,
      durationMs: MEASURE_MS,
      connections: CONNECTIONS,
      body: () => body,
    });
    // For comparison only: autocannon's own rate limiting, which sends each second's quota in a burst.
    const bursty =
      server === "ingress"
        ? await cannon({
            url,
            body,
            connections: CONNECTIONS,
            durationS: MEASURE_MS / 1000,
            overallRate: Math.round(rate),
          })
        : null;
    return { paced, latency: percentiles(paced.latencies), bursty };
  } finally {
    await child.stop();
  }
}

export async function ackLatency(ctx: BenchContext, rate: number): Promise<ScenarioResult> {
  const ingress = await pacedAgainst("ingress", ctx, rate);
  ctx.log(
    `  ingress : ${describe(ingress.latency)}, max ${ms(ingress.latency.max)} (${ingress.paced.sent} sent, statuses ${JSON.stringify(ingress.paced.statuses)}, max backlog ${ingress.paced.maxBacklog})`,
  );
  if (ingress.bursty)
    ctx.log(
      `  ingress, autocannon overallRate (per-second bursts): p50 ${ingress.bursty.latency.p50} ms, p99 ${ingress.bursty.latency.p99} ms`,
    );
  const koa = await pacedAgainst("bare-koa", ctx, rate);
  ctx.log(`  bare Koa: ${describe(koa.latency)}, max ${ms(koa.latency.max)}`);
  const redisOnly = await pacedAgainst("koa-redis", ctx, rate);
  ctx.log(`  Koa + 1 Redis LPUSH: ${describe(redisOnly.latency)}, max ${ms(redisOnly.latency.max)}`);
  const { p99, p999 } = ingress.latency;
  const label = `2. ack latency at ${Math.round(rate)} req/s (half of max), paced`;
  return {
    rows: [
      {
        scenario: `${label}: p50 / p99`,
        measured: `${ms(ingress.latency.p50)} / ${ms(p99)}`,
        baseline: `${ms(koa.latency.p50)} / ${ms(koa.latency.p99)} bare Koa`,
        ratio: round(p99 / koa.latency.p99),
        target: "p99 <= 5 ms",
        met: p99 <= 5,
      },
      {
        scenario: `${label}: p99.9`,
        measured: ms(p999),
        baseline: `${ms(koa.latency.p999)} bare Koa`,
        ratio: round(p999 / koa.latency.p999),
        target: "p99.9 <= 20 ms",
        met: p999 <= 20,
      },
      {
        scenario: "2. reference: Koa + one Redis LPUSH, same rate: p99 / p99.9",
        measured: `${ms(redisOnly.latency.p99)} / ${ms(redisOnly.latency.p999)}`,
        baseline: `${ms(koa.latency.p99)} / ${ms(koa.latency.p999)} bare Koa`,
        ratio: round(redisOnly.latency.p99 / koa.latency.p99),
        target: "(what a Redis round trip costs here)",
        met: null,
      },
    ],
    details: {
      rate,
      durationMs: MEASURE_MS,
      connections: CONNECTIONS,
      ingress: {
        ...ingress.latency,
        sent: ingress.paced.sent,
        statuses: ingress.paced.statuses,
        errors: ingress.paced.errors,
        maxBacklog: ingress.paced.maxBacklog,
      },
      bareKoa: { ...koa.latency, sent: koa.paced.sent, statuses: koa.paced.statuses },
      koaRedisLpush: { ...redisOnly.latency, sent: redisOnly.paced.sent, statuses: redisOnly.paced.statuses },
      ingressAutocannonOverallRate: ingress.bursty,
    },
  };
}
