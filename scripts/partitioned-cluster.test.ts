import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv, type Destination } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { CallbackPartitions } from "@yuju-relay/queue";
import {
  eventually,
  messageCallback,
  redisClusterUnavailable,
  runCommand,
  sendCallback,
  startReceiver,
  startRedisCluster,
  TEST_SIGNING_SECRET,
  type Receiver,
  type ReceivedDelivery,
  type TestRedisCluster,
} from "@yuju-relay/testing";
import { startWorker, workerEnv, type RunningWorker } from "@yuju-relay/worker";
import { Queue } from "bullmq";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";
const PARTITIONS = 6;
const silent = createLogger("test", (process.env.TEST_LOG as "warn") ?? "silent");
// The issue's figure: 20 000 callbacks over 2 000 chats (about a minute here). Fewer chats spread
// less evenly by chance: 300 chats gave 0.80–1.17×, too near the bounds to hold.
const LOAD_CALLBACKS = Number(process.env.LOAD_CALLBACKS ?? 20_000);
const LOAD_CHATS = Number(process.env.LOAD_CHATS ?? 2_000);

const destination = (name: string, url: string, ordered: boolean): Destination => ({
  name,
  url,
  secret: TEST_SIGNING_SECRET,
  events: null,
  filter: null,
  timeoutMs: 5_000,
  attempts: 20,
  retry: { baseDelayMs: 50, maxDelayMs: 500 },
  rateLimit: null,
  enabled: true,
  ordering: ordered ? { by: "conversation", onFailure: "block" } : null,
});

const field = (d: ReceivedDelivery, key: string) => String((d.body.data as unknown as Record<string, unknown>)[key]);

/** Each chat's messages in the order the receiver first accepted them. */
function acceptedOrder(receiver: Receiver): Map<string, string[]> {
  const seen = new Set<string>();
  const order = new Map<string, string[]>();
  for (const d of receiver.deliveries) {
    if (d.status !== 200) continue;
    const id = field(d, "messageId");
    if (seen.has(id)) continue;
    seen.add(id);
    const chat = field(d, "chatId");
    order.set(chat, [...(order.get(chat) ?? []), id]);
  }
  return order;
}

/** The relay's commands served by each master (INFO commandstats), cluster bookkeeping left out. */
async function relayCommandsByMaster(cluster: TestRedisCluster): Promise<Map<number, number>> {
  const masters = (await cluster.nodes()).filter((n) => n.role === "master");
  const byMaster = new Map<number, number>();
  for (const { port } of masters) {
    const node = cluster.connectTo(port);
    try {
      const stats = String(await node.info("commandstats"));
      let calls = 0;
      for (const [, command, n] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (/^(cluster|info|config|ping|command|client|hello|readonly|select)/.test(command!)) continue;
        calls += Number(n);
      }
      byMaster.set(port, calls);
    } finally {
      node.disconnect();
    }
  }
  return byMaster;
}

describe.skipIf(redisClusterUnavailable() !== null)("the relay on a real Redis Cluster, 6 partitions", () => {
  let cluster: TestRedisCluster;
  let ingress: RunningIngress;
  let worker: RunningWorker;
  let hub: Receiver;
  let crm: Receiver;
  let posted = 0;
  const sent = new Map<string, string[]>();
  const shared = () => ({
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: "true",
    QUEUE_PREFIX: "yuju",
    CALLBACK_PARTITIONS: String(PARTITIONS),
    HOST: "127.0.0.1",
  });

  /** Posts `perChat` messages to each chat, one chat's in sequence, `parallel` chats at a time. */
  async function postConversations(chats: string[], perChat: number, parallel = 24) {
    let next = 0;
    const run = async () => {
      for (let c = next++; c < chats.length; c = next++) {
        const chat = chats[c]!;
        for (let i = 0; i < perChat; i++) {
          const id = `m-${posted++}`;
          // A 503 is the platform's cue to retry: the test retries like it, until acknowledged.
          for (;;) {
            const answer = await sendCallback(
              `${ingress.url}/notice`,
              messageCallback(id, { chatId: chat, token: TOKEN }),
            );
            if (answer.status === 200) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          sent.set(chat, [...(sent.get(chat) ?? []), id]);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, run));
  }

  async function expectAllDeliveredInOrder(timeoutMs: number) {
    const total = [...sent.values()].reduce((n, ids) => n + ids.length, 0);
    await eventually(
      () => {
        expect(new Set(hub.deliveries.filter((d) => d.status === 200).map((d) => field(d, "messageId"))).size).toBe(
          total,
        );
        expect(new Set(crm.deliveries.filter((d) => d.status === 200).map((d) => field(d, "messageId"))).size).toBe(
          total,
        );
      },
      { timeoutMs, intervalMs: 250 },
    );
    const order = acceptedOrder(crm);
    for (const [chat, ids] of sent) expect(order.get(chat), chat).toEqual(ids);
  }

  beforeAll(async () => {
    cluster = await startRedisCluster();
    hub = await startReceiver();
    crm = await startReceiver();
    // The ordered destination is slow now and then: later events must wait for earlier ones.
    crm.answer = () => (Math.random() < 0.05 ? 503 : 200);
    ingress = await startIngress(
      parseEnv(ingressEnv, {
        ...shared(),
        PORT: "0",
        CALLBACK_TOKEN: TOKEN,
        SPOOL_DIR: mkdtempSync(join(tmpdir(), "yuju-cluster-spool-")),
        OPS_PORT: "0",
      }),
      silent,
    );
    worker = await startWorker(parseEnv(workerEnv, { ...shared(), WORKER_CONCURRENCY: "24" }), silent, {
      destinations: [destination("hub", hub.url, false), destination("crm", crm.url, true)],
    });
  }, 120_000);

  afterAll(async () => {
    await ingress?.close();
    await worker?.close();
    await hub?.close();
    await crm?.close();
    await cluster?.close();
  });

  it("delivers every callback to both destinations, each chat in order on the ordered one, from every partition", async () => {
    await postConversations(
      Array.from({ length: 40 }, (_, i) => `chat-${i}`),
      5,
    );
    await expectAllDeliveredInOrder(60_000);
    // Every partition's callbacks queue took some of them.
    const partitions = new CallbackPartitions(PARTITIONS);
    const redis = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      for (const name of partitions.callbackQueueNames()) {
        const queue = new Queue(name, { connection: redis, prefix: "yuju" });
        expect((await queue.getJobCounts("completed")).completed, name).toBeGreaterThan(0);
        await queue.close();
      }
    } finally {
      redis.disconnect();
    }
  }, 120_000);

  it("the CLI finds every partition: stats list each partition's queues, events are found wherever they live, pause holds everywhere", async () => {
    const dir = mkdtempSync(join(tmpdir(), "yuju-cluster-cli-"));
    const relayConfig = join(dir, "relay.yaml");
    writeFileSync(
      relayConfig,
      ["hub", "crm"]
        .map((n) => `  - name: ${n}\n    url: http://127.0.0.1:9/${n}\n    secret: \${SECRET}\n`)
        .join("")
        .replace(/^/, "destinations:\n"),
    );
    const env = { ...shared(), RELAY_CONFIG: relayConfig };
    const relay = (...args: string[]) => runCommand("apps/cli/src/main.ts", args, env);

    const stats = await relay("stats", "--json");
    expect(stats.code, stats.stderr).toBe(0);
    const rows = JSON.parse(stats.stdout) as Array<{ queue: string; destination: string | null; paused: boolean }>;
    const partitions = new CallbackPartitions(PARTITIONS);
    expect(rows.map((r) => r.queue).sort()).toEqual(
      [
        ...partitions.callbackQueueNames(),
        ...partitions.indexes().flatMap((p) => ["hub", "crm"].map((d) => partitions.deliveryQueueName(d, p))),
        "sends",
      ].sort(),
    );
    // The first test's messages live in several partitions; each is found, delivered to both.
    const spread = new Set<number>();
    for (const id of ["m-0", "m-5", "m-10", "m-15", "m-20", "m-25"]) {
      const chat = [...sent].find(([, ids]) => ids.includes(id))![0];
      spread.add(partitions.of(chat));
      const event = await relay("event", id, "--json");
      expect(event.code, `${id}: ${event.stderr}`).toBe(0);
      const report = JSON.parse(event.stdout) as {
        eventId: string;
        deliveries: Array<{ destination: string; state: string }>;
      };
      expect(report.eventId).toBe(`msg_${id}`);
      // Delivered: its job completed, or its inline attempt recorded as delivered.
      expect(report.deliveries.map((d) => d.destination).sort()).toEqual(["crm", "hub"]);
      for (const d of report.deliveries)
        expect(["completed", "delivered"], `${id} ${d.destination}`).toContain(d.state);
    }
    expect(spread.size).toBeGreaterThan(1);
    expect((await relay("event", "m-never-sent")).code).toBe(1);

    expect((await relay("pause", "hub")).code).toBe(0);
    const paused = JSON.parse((await relay("stats", "--json")).stdout) as typeof rows;
    expect(paused.filter((r) => r.destination === "hub").map((r) => r.paused)).toEqual(
      new Array(PARTITIONS).fill(true),
    );
    expect((await relay("resume", "hub")).code).toBe(0);
    const resumed = JSON.parse((await relay("stats", "--json")).stdout) as typeof rows;
    expect(resumed.some((r) => r.paused)).toBe(false);
  }, 120_000);

  it("refuses to start an app with another partition count: exit 78, saying how to change it", async () => {
    const started = await runCommand("apps/ingress/src/main.ts", [], {
      ...shared(),
      CALLBACK_PARTITIONS: "3",
      PORT: "0",
      CALLBACK_TOKEN: TOKEN,
    });
    expect(started.code).toBe(78);
    expect(started.stderr).toMatch(/CALLBACK_PARTITIONS: .* laid out in 6 partition\(s\), .* started with 3/);
    expect(started.stderr).toMatch(/drain every queue/);
  }, 60_000);

  it(`spreads the load: ${LOAD_CALLBACKS} callbacks over ${LOAD_CHATS} chats, every master within 0.75–1.25× of the mean`, async () => {
    const before = await relayCommandsByMaster(cluster);
    await postConversations(
      Array.from({ length: LOAD_CHATS }, (_, i) => `load-${i}`),
      Math.ceil(LOAD_CALLBACKS / LOAD_CHATS),
    );
    await expectAllDeliveredInOrder(300_000);
    const after = await relayCommandsByMaster(cluster);
    const served = [...after].map(([port, calls]) => calls - (before.get(port) ?? 0));
    const mean = served.reduce((a, b) => a + b, 0) / served.length;
    process.stdout.write(
      `load spread: ${served.map((n) => `${n} (${(n / mean).toFixed(2)}×)`).join(", ")} commands per master\n`,
    );
    expect(served).toHaveLength(3);
    for (const n of served) {
      expect(n / mean).toBeGreaterThanOrEqual(0.75);
      expect(n / mean).toBeLessThanOrEqual(1.25);
    }
    // And each master holds some of the relay's keys.
    for (const port of after.keys()) {
      const node = cluster.connectTo(port);
      try {
        expect(await node.dbsize()).toBeGreaterThan(0);
      } finally {
        node.disconnect();
      }
    }
  }, 600_000);

  it("loses no acknowledged callback and keeps each chat's order through a failover (CLUSTER FAILOVER on a replica)", async () => {
    const replica = (await cluster.nodes()).find((n) => n.role === "replica")!;
    const load = postConversations(
      Array.from({ length: 60 }, (_, i) => `failover-${i}`),
      10,
    );
    await eventually(() => expect(posted).toBeGreaterThan(200), { timeoutMs: 60_000 });
    const node = cluster.connectTo(replica.port);
    try {
      await node.cluster("FAILOVER");
    } finally {
      node.disconnect();
    }
    await eventually(
      async () => expect((await cluster.nodes()).find((n) => n.port === replica.port)?.role).toBe("master"),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await load;
    await expectAllDeliveredInOrder(180_000);
  }, 400_000);

  it("loses no acknowledged callback and keeps each chat's order when a master is killed (its replica takes over)", async () => {
    const master = (await cluster.nodes()).find((n) => n.role === "master")!;
    const load = postConversations(
      Array.from({ length: 60 }, (_, i) => `killed-${i}`),
      10,
    );
    const before = posted;
    await eventually(() => expect(posted - before).toBeGreaterThan(150), { timeoutMs: 60_000 });
    await cluster.kill(master.port);
    await eventually(
      async () => {
        const nodes = await cluster.nodes();
        expect(nodes.filter((n) => n.role === "master" && n.slots.length > 0)).toHaveLength(3);
        expect(nodes.some((n) => n.port === master.port)).toBe(false);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await load;
    await expectAllDeliveredInOrder(240_000);
    // How the ingress bridged the gap: callbacks spooled while the dead master's slots had no owner.
    const metrics = await (await fetch(`${ingress.ops!.url}/metrics`)).text();
    const outcomes = [...metrics.matchAll(/^yuju_callbacks_total\{outcome="(\w+)"[^}]*\} (\d+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    process.stdout.write(`master killed: ingress outcomes ${outcomes.join(", ")}\n`);
    expect(Number(/spooled (\d+)/.exec(outcomes.join(","))?.[1] ?? 0)).toBeGreaterThan(0);
  }, 500_000);
});
