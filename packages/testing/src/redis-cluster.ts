import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.ts";

/** One node of the cluster as `CLUSTER NODES` reports it. */
export interface ClusterNode {
  port: number;
  id: string;
  role: "master" | "replica";
  /** A master's slot ranges, such as [[0, 5460]]; empty for a replica. */
  slots: Array<[number, number]>;
  /** A replica's master id. */
  masterId?: string;
}

export interface TestRedisCluster {
  /** Every node, comma-separated, as REDIS_URL takes them with REDIS_CLUSTER=true. */
  url: string;
  ports: number[];
  /** The nodes and their roles now (a failover swaps a master and its replica). */
  nodes(): Promise<ClusterNode[]>;
  /** A plain connection to one node, for INFO, CLUSTER and the like. The caller disconnects it. */
  connectTo(port: number): Redis;
  /** A node's process id (CPU accounting in the bench). */
  pid(port: number): number | undefined;
  /** Kills one node (SIGKILL), as a crashed host. */
  kill(port: number): Promise<void>;
  close(): Promise<void>;
}

/** redis-server and redis-cli on the PATH (Debian's redis-server brings both). */
export const canStartRedisCluster = () =>
  !spawnSync("redis-server", ["--version"]).error && !spawnSync("redis-cli", ["--version"]).error;

/** Why a cluster test is skipped, for the test's name. */
export const redisClusterUnavailable = () =>
  canStartRedisCluster() ? null : "redis-server and redis-cli are not on the PATH (apt-get install -y redis-server)";

const SLOT_SPEC = /^(\d+)(?:-(\d+))?$/;

/** Parses `CLUSTER NODES`. Lines: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`. */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => !/\b(fail|handshake|noaddr)\b/.test(line.split(" ")[2] ?? ""))
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-", , , , , ...slotSpecs] = line.trim().split(" ");
      const port = Number(address.split("@")[0]!.split(":").pop());
      const role = flags.split(",").includes("master") ? "master" : "replica";
      const slots = slotSpecs
        .map((spec) => SLOT_SPEC.exec(spec))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m): [number, number] => [Number(m[1]), Number(m[2] ?? m[1])]);
      return { port, id, role, slots, ...(role === "replica" && master !== "-" ? { masterId: master } : {}) };
    });
}

/**
 * A real Redis Cluster on free loopback ports: 3 masters and 3 replicas of
 * `redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create --cluster-replicas 1`,
 * returned once every node says `cluster_state:ok` and knows all six. No persistence.
 */
export async function startRedisCluster({ masters = 3 }: { masters?: number } = {}): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "yuju-cluster-"));
  const ports: number[] = [];
  for (let i = 0; i < masters * 2; i++) ports.push(await freePort());
  const children = new Map<number, ChildProcess>();
  for (const port of ports) {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        // A killed master is failed over within a second or two, not the default 15.
        "--cluster-node-timeout",
        "2000",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "noeviction",
      ],
      { stdio: "ignore" },
    );
    children.set(port, child);
  }
  const kill = async (port: number) => {
    const node = children.get(port);
    if (!node || node.exitCode !== null || node.signalCode !== null) return;
    await new Promise<void>((resolve) => node.once("exit", () => resolve()).kill("SIGKILL"));
  };
  const close = async () => {
    await Promise.all(ports.map(kill));
  };
  const connectTo = (port: number) =>
    new Redis({ host: "127.0.0.1", port, lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  const ask = async <T>(port: number, question: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = connectTo(port);
    try {
      return await question(redis);
    } finally {
      redis.disconnect();
    }
  };
  try {
    const create = () =>
      spawnSync(
        "redis-cli",
        ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
        { encoding: "utf8", timeout: 30_000 },
      );
    let created = create();
    // The nodes may not listen yet: retry the creation for a few seconds.
    for (
      let i = 0;
      i < 100 && created.status !== 0 && /Could not connect|Connection refused/i.test(created.stdout + created.stderr);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      created = create();
    }
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const infos = await Promise.all(
        ports.map((port) => ask(port, async (redis) => String(await redis.cluster("INFO"))).catch(() => "")),
      );
      // Every node also sees each replica as one: right after the creation a node may still list
      // a replica as a master without slots.
      const views = await Promise.all(
        ports.map((port) =>
          ask(port, async (redis) => parseClusterNodes(String(await redis.cluster("NODES")))).catch(() => []),
        ),
      );
      // And every replica has its master's data: one that never synced cannot take over.
      const replicaLinks = await Promise.all(
        ports.map((port) =>
          ask(port, async (redis) => String(await redis.info("replication"))).catch(() => "role:unknown"),
        ),
      );
      const synced = replicaLinks.every(
        (info) => !info.includes("role:slave") || info.includes("master_link_status:up"),
      );
      const ready =
        synced &&
        infos.every(
          (info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${ports.length}`),
        ) &&
        views.every((view) => view.filter((node) => node.role === "replica").length === masters);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok: ${infos.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const nodes = async () => {
      for (const port of ports) {
        const node = children.get(port);
        if (!node || node.exitCode !== null || node.signalCode !== null) continue;
        return parseClusterNodes(String(await ask(port, (redis) => redis.cluster("NODES"))));
      }
      throw new Error("no node of the cluster is running");
    };
    const pid = (port: number) => children.get(port)?.pid;
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(","), ports, nodes, connectTo, pid, kill, close };
  } catch (error) {
    await close();
    throw error;
  }
}
