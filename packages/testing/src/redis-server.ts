import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForRedis } from "@yuju-relay/queue";
import { freePort } from "./free-port.ts";

/** A Redis this test run owns, and can stop and start again on the same port (fault tests). */
export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A redis-server process this test owns, which it can also freeze (SIGSTOP) and thaw (SIGCONT). */
export interface FreezableRedis extends TestRedis {
  /** The process stops answering but keeps its connections open, as a stalled host does. */
  freeze(): void;
  thaw(): void;
}

/**
 * `redis-server` from PATH on a free port. No persistence by default: throwaway data for one run.
 * `persistent`: AOF with `appendfsync always` in its own directory, so that a Redis killed and
 * started again (same port, same directory) still has every job it acknowledged, as a production
 * Redis would after a restart.
 */
export async function startRedisServerBinary({
  persistent = false,
}: { persistent?: boolean } = {}): Promise<FreezableRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "yuju-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        ...(persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
        "--dir",
        dir,
        "--maxmemory-policy",
        "noeviction",
      ],
      { stdio: "ignore" },
    );
    const spawned = child;
    await new Promise<void>((resolve, reject) => {
      spawned.once("error", (e) => reject(new Error(`cannot start redis-server (${e.message}): is it installed?`)));
      spawned.once("spawn", () => resolve());
    });
    await waitForRedis(url);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  };
  const signal = (name: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) throw new Error("redis-server is not running");
    child.kill(name);
  };
  await start();
  return {
    url,
    start,
    stop,
    close: async () => {
      // A frozen process would not act on SIGKILL until thawed on some systems: thaw it first.
      if (child && child.exitCode === null) child.kill("SIGCONT");
      await stop();
    },
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
  };
}

/** A Redis that keeps its data across `stop` and `start` (a kill and a restart), from PATH. */
export function startPersistentRedis(): Promise<TestRedis> {
  return startRedisServerBinary({ persistent: true }).catch((error: unknown) => {
    throw new Error(`This test needs redis-server on the PATH (apt-get install -y redis-server). ${String(error)}`);
  });
}

/** A redis:7 container through testcontainers, when a container engine answers. */
export async function startRedisContainer(): Promise<TestRedis> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const { GenericContainer } = await import("testcontainers");
  const hostPort = await freePort();
  type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>["start"]>>;
  let container: Started | undefined;
  const url = `redis://127.0.0.1:${hostPort}`;
  const start = async () => {
    container = await new GenericContainer("redis:7")
      .withExposedPorts({ container: 6379, host: hostPort })
      .withCommand(["redis-server", "--save", "", "--appendonly", "no"])
      .start();
    await waitForRedis(url);
  };
  const stop = async () => {
    const running = container;
    container = undefined;
    await running?.stop({ timeout: 0 });
  };
  await start();
  return { url, start, stop, close: stop };
}

async function containerEngineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * A Redis this process owns: a container when an engine answers, else `redis-server` from PATH.
 * For tests that stop Redis on purpose; everything else shares the run's Redis (`REDIS_URL`).
 */
export async function startOwnRedis(): Promise<TestRedis> {
  if (await containerEngineAnswers()) {
    try {
      return await startRedisContainer();
    } catch (error) {
      process.stderr.write(`testcontainers could not start redis:7 (${String(error)}); trying redis-server\n`);
    }
  }
  try {
    return await startRedisServerBinary();
  } catch (error) {
    throw new Error(
      `No Redis for the tests: set REDIS_URL, run a container engine, or install redis-server (apt-get install -y redis-server). ${String(error)}`,
    );
  }
}
