import {
  CallbackPartitions,
  callbackJobName,
  callbackJobOptions,
  createWorkerConnection,
  PartitionedCallbackQueues,
} from "@yuju-relay/queue";
import { startRedisCluster, type TestRedisCluster } from "@yuju-relay/testing";
import { storedJobData } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import { processCpuSeconds } from "../lib/machine.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { medianRound, round, sleep } from "../lib/stats.ts";
import { relayConfig, startCountingReceiver } from "./destinations.ts";

const EVENTS = Number(process.env.BENCH_CLUSTER_EVENTS ?? "10000");
const CHATS = 1_000;
const PARTITIONS = 6;

interface Drain {
  eventsPerS: number;
  workerCpuUsPerEvent: number;
  /** Redis CPU per event: the one Redis, or each master of the cluster (replicas left out). */
  redisCpuUsPerEvent: number[];
}

/**
 * EVENTS callbacks over CHATS chats pre-filled, drained by one real worker process delivering each
 * to one local destination: on the bench's standalone Redis with one partition, or on a 3-master
 * Redis Cluster (3 replicas) with 6 partitions. Same worker, same concurrency.
 */
async function drain(
  ctx: BenchContext,
  where: { url: string; cluster: boolean; redisPids: number[] },
  tag: string,
): Promise<Drain> {
  const partitions = new CallbackPartitions(where.cluster ? PARTITIONS : 1);
  const prefix = `benchcluster${tag}`;
  const receiver = await startCountingReceiver();
  const config = relayConfig([receiver.url]);
  const connection = createWorkerConnection(where.url, { cluster: where.cluster });
  const queues = new PartitionedCallbackQueues(connection, prefix, partitions);
  for (let start = 0; start < EVENTS; start += 1_000) {
    await queues.addBulk(
      Array.from({ length: Math.min(1_000, EVENTS - start) }, (_, i) => {
        const n = start + i;
        const data = storedJobData(`cluster-${tag}-${n}`);
        data.body.data.chatId = `chat-${n % CHATS}`;
        return { name: callbackJobName(data), data, opts: callbackJobOptions(data.kind) };
      }),
    );
  }
  const child = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: where.url,
    REDIS_CLUSTER: String(where.cluster),
    CALLBACK_PARTITIONS: String(partitions.count),
    QUEUE_PREFIX: prefix,
    RELAY_CONFIG: config.file,
    ...config.env,
  });
  const cpu = processCpuSeconds(child.pid);
  const redisCpu = where.redisPids.map((pid) => processCpuSeconds(pid));
  try {
    while (receiver.received() === 0) await sleep(5);
    const started = performance.now();
    for (let waited = 0; receiver.received() < EVENTS && waited < 240_000; waited += 20) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    if (receiver.received() < EVENTS) throw new Error(`${tag}: ${receiver.received()}/${EVENTS} delivered`);
    return {
      eventsPerS: EVENTS / seconds,
      workerCpuUsPerEvent: Math.round(((processCpuSeconds(child.pid) - cpu) * 1e6) / EVENTS),
      redisCpuUsPerEvent: where.redisPids.map((pid, i) =>
        Math.round(((processCpuSeconds(pid) - redisCpu[i]!) * 1e6) / EVENTS),
      ),
    };
  } finally {
    await child.stop();
    await queues.close();
    connection.disconnect();
    await receiver.close();
  }
}

async function masterPids(cluster: TestRedisCluster): Promise<number[]> {
  const masters = (await cluster.nodes()).filter((n) => n.role === "master");
  return masters.map((m) => cluster.pid(m.port)!);
}

const describe = (d: Drain) =>
  `${Math.round(d.eventsPerS)} events/s (CPU per event: worker ${d.workerCpuUsPerEvent} µs, Redis ${d.redisCpuUsPerEvent.join(" + ")} µs)`;

export async function clusterThroughput(ctx: BenchContext): Promise<ScenarioResult> {
  const cluster = await startRedisCluster();
  const clusterPids = await masterPids(cluster);
  const standalone: Drain[] = [];
  const clustered: Drain[] = [];
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      await ctx.redis.flush();
      standalone.push(
        await drain(ctx, { url: ctx.redis.url, cluster: false, redisPids: [ctx.redis.pid] }, `standalone${r}`),
      );
      ctx.log(`  one Redis, 1 partition      round ${r + 1}: ${describe(standalone.at(-1)!)}`);
      clustered.push(await drain(ctx, { url: cluster.url, cluster: true, redisPids: clusterPids }, `cluster${r}`));
      ctx.log(`  cluster, ${PARTITIONS} partitions       round ${r + 1}: ${describe(clustered.at(-1)!)}`);
    }
  } finally {
    await cluster.close();
  }
  const ratios = clustered.map((c, r) => c.eventsPerS / standalone[r]!.eventsPerS);
  const r = medianRound(ratios);
  return {
    rows: [
      {
        scenario: `12. events/s through a Redis Cluster (3 masters + 3 replicas, ${PARTITIONS} partitions) vs one Redis, one worker, 1 destination (${EVENTS} events, median of ${ctx.rounds})`,
        measured: `${Math.round(clustered[r]!.eventsPerS)} events/s`,
        baseline: `${Math.round(standalone[r]!.eventsPerS)} events/s one Redis`,
        ratio: round(ratios[r]!),
        target: ">= 0.80 x one Redis",
        met: ratios[r]! >= 0.8,
      },
      {
        scenario: "12. CPU per event, worker + each master (least of the rounds)",
        measured: `${Math.min(...clustered.map((d) => d.workerCpuUsPerEvent))} + ${[0, 1, 2].map((m) => Math.min(...clustered.map((d) => d.redisCpuUsPerEvent[m] ?? 0))).join(" + ")} µs`,
        baseline: `${Math.min(...standalone.map((d) => d.workerCpuUsPerEvent))} + ${Math.min(...standalone.map((d) => d.redisCpuUsPerEvent[0]!))} µs one Redis`,
        ratio: round(
          Math.min(...standalone.map((d) => d.workerCpuUsPerEvent)) /
            Math.min(...clustered.map((d) => d.workerCpuUsPerEvent)),
        ),
        target: "(worker CPU, one Redis / cluster)",
        met: null,
      },
    ],
    details: {
      events: EVENTS,
      chats: CHATS,
      partitions: PARTITIONS,
      standalone,
      clustered,
      ratios: ratios.map((x) => round(x)),
    },
  };
}
