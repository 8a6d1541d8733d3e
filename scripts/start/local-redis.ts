import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { waitForRedis } from "@yuju-relay/queue";
import { Redis } from "ioredis";

/** Why the launcher cannot go on: printed as is, then it exits 1. */
export class LauncherStop extends Error {}

export interface LocalRedis {
  url: string;
  child: ChildProcess;
}

/** Whether nothing listens on 127.0.0.1:port, found by trying to listen there. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A redis-server of ours still running on this data folder (another `pnpm start`): two would share one AOF. */
function runningOwner(dir: string): number | null {
  const pidFile = join(dir, "redis.pid");
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null; // left behind by a Redis that did not stop cleanly
  }
  // Where /proc exists, a pid reused by another program does not count.
  const comm = `/proc/${pid}/comm`;
  return existsSync(comm) && !readFileSync(comm, "utf8").includes("redis") ? null : pid;
}

/** The pid the Redis at `url` reports, to prove it is the process we started and not another Redis. */
async function serverPid(url: string): Promise<number | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    const info = await client.info("server");
    const pid = /^process_id:(\d+)/m.exec(info)?.[1];
    return pid ? Number(pid) : null;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a redis-server with the settings BullMQ's durability needs (AOF everysec, noeviction), on
 * `requestedPort` or, by default, on a port nothing else uses. A system Redis (Debian starts one on
 * 6379) is never used in its place: it would not have these settings, so an acknowledged callback
 * would no longer be durable. Throws LauncherStop with what was found.
 */
export async function startLocalRedis(options: {
  requestedPort: string | undefined;
  dir: string;
  onOutput: (child: ChildProcess) => void;
}): Promise<LocalRedis> {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new LauncherStop(
      [
        "No Redis to use. Either:",
        "  - set REDIS_URL to a Redis you run (redis://host:6379), or",
        "  - install redis-server (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or",
        "  - run the whole stack in containers: docker compose up",
      ].join("\n"),
    );
  }
  let port: number;
  if (options.requestedPort) {
    port = Number(options.requestedPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new LauncherStop("LOCAL_REDIS_PORT must be a port number (1-65535), or unset for a free port.");
    }
    if (!(await portIsFree(port))) {
      throw new LauncherStop(
        [
          `LOCAL_REDIS_PORT ${port} is taken by another process (a Redis installed by the system?).`,
          "Not using it: it may lack AOF and noeviction, and then an acknowledged callback is not durable.",
          "Unset LOCAL_REDIS_PORT to use a free port, choose another one, or set REDIS_URL to use that Redis on purpose.",
        ].join("\n"),
      );
    }
  } else {
    port = await pickFreePort();
  }
  mkdirSync(options.dir, { recursive: true });
  const owner = runningOwner(options.dir);
  if (owner !== null) {
    throw new LauncherStop(
      `Another redis-server (pid ${owner}) is using ${options.dir}: stop it (another pnpm start?), or set LOCAL_REDIS_DIR.`,
    );
  }
  const child = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", options.dir],
      ...["--pidfile", join(options.dir, "redis.pid")],
      ...["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--save", ""],
    ],
    // Own process group: Ctrl-C reaches only the launcher, which stops Redis after the apps.
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  options.onOutput(child);
  const url = `redis://127.0.0.1:${port}`;
  const running = () => child.exitCode === null && child.signalCode === null;
  await waitForRedis(url, { stillStarting: running }).catch(() => {});
  // Between the port check and the start, something else may have taken the port: ours then failed.
  if (!running() || (await serverPid(url)) !== child.pid) {
    if (running()) child.kill("SIGTERM");
    throw new LauncherStop(
      `Our redis-server did not start on ${url} (see its lines above); not using any other Redis.`,
    );
  }
  return { url, child };
}
