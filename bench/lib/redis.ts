import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForRedis } from "@yuju-relay/queue";
import { freePort } from "@yuju-relay/testing";
import { Redis } from "ioredis";

export type AofMode = "everysec" | "off";

export interface BenchRedis {
  url: string;
  pid: number;
  /** How the bench's Redis persists, printed with the results. */
  persistence: string;
  client: Redis;
  usedMemory(): Promise<number>;
  /** Keys of one prefix are counted by the scenario; this empties Redis between scenarios. */
  flush(): Promise<void>;
  /** Redis events over 10 ms since the last call (LATENCY LATEST, then LATENCY RESET). */
  stalls(): Promise<Array<{ event: string; maxMs: number }>>;
  /** Stops redis-server (SIGTERM: it writes its AOF first), for an outage; `start` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A private redis-server on a free port. AOF `everysec` by default: that is what production runs
 * (BullMQ's docs), and it costs Redis a write per event-loop turn, which belongs in the figures.
 * Automatic AOF rewrites are off so that a fork in the middle of a run does not decide a ratio.
 */
export async function startBenchRedis(aof: AofMode): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "yuju-bench-redis-"));
  const persistence =
    aof === "everysec"
      ? "AOF on, appendfsync everysec (auto-rewrite off), RDB off"
      : "AOF off, RDB off (no persistence)";
  // The latency monitor records any Redis event over 10 ms (an AOF write stuck behind a busy disk,
  // a slow command): printed with each scenario, it tells a Redis stall from an app stall.
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--maxmemory-policy",
    "noeviction",
    "--latency-monitor-threshold",
    "10",
  ];
  args.push(
    ...(aof === "everysec"
      ? ["--appendonly", "yes", "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0"]
      : ["--appendonly", "no"]),
  );
  let child: ChildProcess;
  const launch = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    await new Promise<void>((resolve, reject) => {
      child.once("error", (e) =>
        reject(new Error(`cannot start redis-server (${e.message}): apt-get install -y redis-server`)),
      );
      child.once("spawn", () => resolve());
    });
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  };
  await launch();
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => (n > 50 ? null : 100) });
  // redis-server takes a moment to listen: the client retries until it answers.
  client.on("error", () => {});
  await client.ping();
  let seen: Array<{ event: string; maxMs: number }> = [];
  const latest = async () => {
    const events = (await client.call("LATENCY", "LATEST")) as Array<[string, number, number, number]>;
    return events.map(([event, , , maxMs]) => ({ event, maxMs }));
  };
  return {
    url,
    get pid() {
      return child.pid ?? 0;
    },
    persistence,
    client,
    async usedMemory() {
      const info = await client.info("memory");
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    },
    async flush() {
      // Stalls seen so far are kept; the flush's own (a FLUSHALL of many jobs takes a while) is not.
      seen.push(...(await latest()));
      await client.flushall();
      await client.call("LATENCY", "RESET");
    },
    async stalls() {
      const all = [...seen, ...(await latest())];
      seen = [];
      await client.call("LATENCY", "RESET");
      return all;
    },
    stop: () => halt("SIGTERM"),
    async start() {
      await launch();
      await waitForRedis(url);
    },
    async close() {
      client.disconnect();
      await halt("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
