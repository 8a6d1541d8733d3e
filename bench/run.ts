// `pnpm bench`: a benchmark, not a test. docs/performance.md says what it measures and how to read it.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { buildServers } from "./lib/build-servers.ts";
import { placement } from "./lib/child.ts";
import { pin, startUsage } from "./lib/machine.ts";
import { startBenchRedis, type AofMode } from "./lib/redis.ts";
import { formatTable, type BenchContext, type Row, type ScenarioResult } from "./lib/report.ts";
import { ackLatency } from "./scenarios/ack-latency.ts";
import { clusterThroughput } from "./scenarios/cluster-throughput.ts";
import { destinationLatency, destinationThroughput, hangingDestination } from "./scenarios/destinations.ts";
import { endToEnd } from "./scenarios/end-to-end.ts";
import { ingressThroughput } from "./scenarios/ingress-throughput.ts";
import { mergeCost } from "./scenarios/merge.ts";
import { orderedDelivery } from "./scenarios/ordered-delivery.ts";
import { sendThroughput } from "./scenarios/send-throughput.ts";
import { spoolThroughput } from "./scenarios/spool-throughput.ts";
import { workerThroughput } from "./scenarios/worker-throughput.ts";

const aof = (process.env.BENCH_AOF ?? "everysec") as AofMode;
const rounds = Number(process.env.BENCH_ROUNDS ?? "3");
// BENCH_ONLY=1,3 runs a subset while working on one figure; scenario 2 needs 1's max rate
// (or BENCH_MAX_RATE). BENCH_ONLY=8 runs the ordered-delivery scenario alone, BENCH_ONLY=9 the spool one,
// BENCH_ONLY=10 the hanging destination, BENCH_ONLY=11 the send worker, BENCH_ONLY=12 bursts (merge),
// BENCH_ONLY=13 the Redis Cluster.
// BENCH_PIN=0 leaves every process wherever the scheduler puts it.
const pinning = process.env.BENCH_PIN !== "0" && cpus().length >= 2;
const only = new Set((process.env.BENCH_ONLY ?? "1,2,3,4,6,7,10,8,9,11,12,13").split(",").map((s) => s.trim()));

const log = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();
await buildServers();
const redis = await startBenchRedis(aof);
const redisVersion = /redis_version:(\S+)/.exec(await redis.client.info("server"))?.[1] ?? "?";
log(`yuju-relay bench: node ${process.version}, ${cpus().length} cores, redis-server ${redisVersion} on ${redis.url}`);
log(`Redis persistence: ${redis.persistence}`);
const ctx: BenchContext = { redis, rounds, log };
const rows: Row[] = [];
const details: Record<string, unknown> = {};
const machine: string[] = [];

/**
 * Where processes run. Pinned (throughput, scenarios 1 and 3): the server under test alone on CPU 1;
 * the load generator (this process) and Redis share CPU 0, for every server alike, so that the ratio
 * compares what each server costs, not where the scheduler happened to put it. Shared (latency,
 * scenarios 2 and 4): the scheduler places everything, as on a real 2-core host; pinned, Redis would
 * wait behind the load generator on its core.
 */
function place(layout: "pinned" | "shared"): string {
  const pinned = pinning && layout === "pinned";
  const ok = pin(process.pid, pinned ? "0" : "0-1") && pin(redis.pid, pinned ? "0" : "0-1");
  placement.serverCpus = pinned ? "1" : "0-1";
  return pinned && ok
    ? "server under test on CPU 1; load generator and Redis on CPU 0"
    : "no pinning: the scheduler places every process";
}

/** Runs one scenario and notes who else used the machine meanwhile, and any Redis stall. */
async function scenario<T extends ScenarioResult>(
  key: string,
  title: string,
  layout: "pinned" | "shared",
  run: () => Promise<T>,
): Promise<T> {
  log(`\n${title}`);
  const where = place(layout);
  log(`  (${where})`);
  await redis.stalls();
  const usage = startUsage(redis.pid);
  const result = await run();
  const used = usage.stop();
  const stalls = await redis.stalls();
  const line = `${key}: bench ${used.benchCores} cores, other work ${used.otherCores} cores, stolen ${used.stolenCores}; Redis stalls over 10 ms: ${stalls.length ? stalls.map((s) => `${s.event} ${s.maxMs} ms`).join(", ") : "none"}`;
  log(`  (${line})`);
  machine.push(line);
  rows.push(...result.rows);
  details[key] = { ...result.details, placement: where, machine: used, redisStalls: stalls };
  return result;
}

try {
  let maxRate = Number(process.env.BENCH_MAX_RATE ?? "0");
  if (only.has("1")) {
    const result = await scenario(
      "ingressThroughput",
      "1. ingress throughput vs bare Koa (+ 5. ingress peak RSS)",
      "pinned",
      () => ingressThroughput(ctx),
    );
    maxRate = result.maxRate;
  }
  if (only.has("2")) {
    if (!maxRate) throw new Error("scenario 2 needs scenario 1 (or BENCH_MAX_RATE)");
    await scenario(
      "ackLatency",
      `2. ack latency at half the ingress's max rate (${Math.round(maxRate / 2)} req/s)`,
      "shared",
      () => ackLatency(ctx, maxRate / 2),
    );
  }
  if (only.has("3")) {
    await scenario(
      "workerThroughput",
      "3. worker throughput vs a no-op BullMQ worker (+ 5. Redis bytes per retained job)",
      "pinned",
      () => workerThroughput(ctx),
    );
  }
  if (only.has("4")) {
    await scenario("endToEnd", "4. end to end: ingress -> Redis -> worker -> signed delivery", "shared", () =>
      endToEnd(ctx),
    );
  }
  if (only.has("6")) {
    await scenario(
      "destinationThroughput",
      "6. fan-out throughput: events/s with 3 destinations taking every event vs 1",
      "pinned",
      () => destinationThroughput(ctx),
    );
  }
  if (only.has("7")) {
    await scenario("destinationLatency", "7. end to end at 1000/s with 3 destinations vs 1", "shared", () =>
      destinationLatency(ctx),
    );
  }
  if (only.has("10")) {
    await scenario(
      "hangingDestination",
      "10. a destination that hangs beside two healthy ones, at 1000/s",
      "shared",
      () => hangingDestination(ctx),
    );
  }
  if (only.has("8")) {
    await scenario(
      "orderedDelivery",
      "8. ordered (per conversation) vs unordered delivery to one destination",
      "shared",
      () => orderedDelivery(ctx),
    );
  }
  if (only.has("9")) {
    await scenario(
      "spoolThroughput",
      "9. ingress while Redis is away: spooling vs Redis up, then the drain",
      "pinned",
      () => spoolThroughput(ctx, aof),
    );
  }
  if (only.has("11")) {
    await scenario(
      "sendThroughput",
      "11. sends/s to a mock platform: the relay's send worker (pacing off) vs a bare BullMQ worker",
      "pinned",
      () => sendThroughput(ctx),
    );
  }
  if (only.has("12")) {
    await scenario("mergeCost", "12. bursts: worker CPU per message with merge vs without", "pinned", () =>
      mergeCost(ctx),
    );
  }
  if (only.has("13")) {
    await scenario(
      "clusterThroughput",
      "13. a Redis Cluster with 6 partitions vs one Redis, the same worker",
      "shared",
      () => clusterThroughput(ctx),
    );
  }
} finally {
  await redis.close();
}

const elapsedS = Math.round((Date.now() - started) / 1000);
log(
  `\nResults: node ${process.version}, ${cpus().length} cores shared by the load generator, the apps and Redis; Redis ${redis.persistence}; ${elapsedS} s\n`,
);
log(formatTable(rows));
log(
  `\nMachine during each scenario (the figures are only as good as the machine was quiet):\n${machine.map((m) => `  ${m}`).join("\n")}`,
);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, cores: cpus().length, redis: { version: redisVersion, persistence: redis.persistence }, rounds, elapsedS, rows, details }, null, 2)}\n`,
);
log("\nwritten to bench/results/latest.json");
