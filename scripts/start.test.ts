import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  eventually,
  freePort,
  loadSeedExamples,
  sendCallback,
  spawnApp,
  startReceiver,
  startRedisServerBinary,
} from "@yuju-relay/testing";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A fresh `.env` for one launcher run: the developer's own `.env` must not leak into the test. */
function envFile(lines: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "yuju-env-")), "test.env");
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
const scratchDir = () => mkdtempSync(join(tmpdir(), "yuju-start-"));

/** Two free ports in a row, for OPS_PORT and OPS_PORT + 1. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = await new Promise<boolean>((done) => {
      const probe = createServer().once("error", () => done(false));
      probe.listen(port + 1, "127.0.0.1", () => probe.close(() => done(true)));
    });
    if (next) return port;
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * `pnpm start` exactly as a user types it, in its own process group: a signal sent to the group is
 * what a terminal's Ctrl-C does (it reaches pnpm, the shell and the launcher at once).
 */
function pnpmStart(env: Record<string, string>) {
  const child = spawn("pnpm", ["start"], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; done: (line: string) => void }> = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done(line);
      }
    });
  }
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return {
    lines,
    exited,
    waitForLine: (pattern: RegExp) =>
      new Promise<string>((done, fail) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return done(seen);
        const timer = setTimeout(() => fail(new Error(`no line ${pattern}: ${lines.slice(-15).join("\n")}`)), 30_000);
        waiters.push({ pattern, done: (line) => (clearTimeout(timer), done(line)) });
      }),
    ctrlC: () => process.kill(-child.pid!, "SIGINT"),
    /**
     * After a failed assertion: Ctrl-C first, so that the launcher stops its apps and its Redis (they
     * run in process groups of their own, which a SIGKILL of this group would leave running), and
     * SIGKILL only if it has not exited within 20 s.
     */
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, "SIGINT");
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<"timeout">((done) => (timer = setTimeout(() => done("timeout"), 20_000)));
      if ((await Promise.race([exited, gaveUp])) === "timeout") process.kill(-child.pid!, "SIGKILL");
      clearTimeout(timer);
    },
  };
}

describe("pnpm start (the launcher, as a new user runs it)", () => {
  it("reads .env (the shell wins), starts its own Redis on a free port, says ready only once every app is, delivers the seed's example, gives each app its own OPS_PORT, and exits 0 on Ctrl-C", async () => {
    const [ingressPort, dashboardPort, opsPort] = [await freePort(), await freePort(), await twoFreePorts()];
    const receiver = await startReceiver();
    const start = pnpmStart({
      // In the shell: these win over the file's.
      PORT: String(ingressPort),
      OPS_PORT: String(opsPort),
      ENV_FILE: envFile([
        "# as a user's .env",
        "PORT=1",
        "OPS_PORT=2",
        `DASHBOARD_PORT=${dashboardPort}`,
        "DASHBOARD_USER=from-env-file",
        "DASHBOARD_PASSWORD=correct-horse-battery",
        `FORWARD_URL=${receiver.url}`,
        `FORWARD_SECRET=${SECRET}`,
        `LOCAL_REDIS_DIR=${scratchDir()}`,
        // Not the repository's .data/spool: a `pnpm start` of one's own may be using it.
        `SPOOL_DIR=${scratchDir()}`,
        "LOG_LEVEL=info",
      ]),
    });
    try {
      const readyLine = await start.waitForLine(/\[start\] ready\. callbacks/);
      // Ready means ready: at once, with no retry, every app answers (the worker's ops server starts
      // once it consumes). Each app also said so in its own log.
      for (const url of [
        `http://127.0.0.1:${ingressPort}/healthz`,
        `http://127.0.0.1:${dashboardPort}/healthz`,
        `http://127.0.0.1:${opsPort + 1}/readyz`,
      ]) {
        expect((await fetch(url)).status, url).toBe(200);
      }
      for (const readiness of [
        /\[ingress\].*"ingress listening"/,
        /\[worker\].*"worker started"/,
        /\[dashboard\].*"dashboard listening"/,
      ]) {
        await start.waitForLine(readiness);
      }
      expect(readyLine).toContain(`http://localhost:${ingressPort}/notice`);
      expect(readyLine).toContain(`http://localhost:${dashboardPort}/ (user from-env-file)`);
      expect(
        start.lines.some((l) => /^\[start\] read \S*test\.env \(a variable set in the shell wins\)$/.test(l)),
      ).toBe(true);

      // Our own Redis, on a free port, with AOF on and noeviction.
      const redisUrl = /started redis-server on (redis:\/\/\S+),/.exec(start.lines.join("\n"))?.[1] ?? "";
      const redis = new Redis(redisUrl);
      expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
      expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      redis.disconnect();

      const seed = loadSeedExamples().find((s) => s.name === "message")!;
      const answer = await sendCallback(`http://127.0.0.1:${ingressPort}${seed.path}`, seed.raw, seed.method);
      expect(answer).toMatchObject({ status: 200, body: {} });
      await eventually(() => expect(receiver.deliveries.map((d) => d.headers["webhook-id"])).toEqual(["msg_string"]));

      const auth = { authorization: `Basic ${Buffer.from("from-env-file:correct-horse-battery").toString("base64")}` };
      expect((await fetch(`http://127.0.0.1:${dashboardPort}/`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${dashboardPort}/`, { headers: auth })).status).toBe(200);

      // OPS_PORT for the ingress, the next port for the worker.
      const ingressMetrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      const workerMetrics = await (await fetch(`http://127.0.0.1:${opsPort + 1}/metrics`)).text();
      expect(ingressMetrics).toContain('yuju_callbacks_total{outcome="accepted",app="ingress"} 1');
      expect(workerMetrics).toMatch(/^yuju_jobs_processed_total\{.*app="worker".*\} 1$/m);

      start.ctrlC();
      expect(await start.exited).toBe(0);
      expect(start.lines.join("\n")).not.toMatch(/ELIFECYCLE|Command failed/);
      // Redis went down with it, after the apps.
      expect(await redisAnswers(redisUrl)).toBe(false);
    } finally {
      await start.kill();
      await receiver.close();
    }
  });

  it("with OPS_PORT=0, each app says which ops port it picked", async () => {
    const launcher = spawnApp("scripts/start.ts", {
      ENV_FILE: envFile([]),
      PORT: "0",
      DASHBOARD_PORT: "0",
      OPS_PORT: "0",
      DASHBOARD_PASSWORD: "correct-horse-battery",
      LOCAL_REDIS_DIR: scratchDir(),
      SPOOL_DIR: scratchDir(),
    });
    try {
      await launcher.waitForLog(/\[start\] ready\./);
      for (const app of ["ingress", "worker"]) {
        const line = await launcher.waitForLog(new RegExp(`\\[${app}\\].*ops server listening`));
        const port = Number(/"port":(\d+)/.exec(String(line.msg))?.[1]);
        expect(port).toBeGreaterThan(0);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      }
    } finally {
      expect(await launcher.stop("SIGTERM")).toBe(0);
    }
  });

  it("never uses a Redis it did not start: LOCAL_REDIS_PORT taken by another Redis stops it with a clear message", async () => {
    const foreign = await startRedisServerBinary();
    const port = new URL(foreign.url).port;
    const launcher = spawnApp("scripts/start.ts", {
      ENV_FILE: envFile([]),
      PORT: "0",
      DASHBOARD_PORT: "0",
      LOCAL_REDIS_PORT: port,
      LOCAL_REDIS_DIR: scratchDir(),
      SPOOL_DIR: scratchDir(),
    });
    try {
      expect(await launcher.exited).toBe(1);
      const said = launcher.logs.map((l) => String(l.msg)).join("\n");
      expect(said).toContain(`LOCAL_REDIS_PORT ${port} is taken by another process`);
      expect(said).not.toMatch(/started redis-server|ready\./);
      const client = new Redis(foreign.url);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
    } finally {
      await foreign.close();
    }
  });

  it("stops with the variable's name when ENV_FILE names a missing file", async () => {
    const launcher = spawnApp("scripts/start.ts", { ENV_FILE: "/nonexistent/yuju.env" });
    expect(await launcher.exited).toBe(1);
    expect(launcher.logs.map((l) => String(l.msg))).toContain("[start] ENV_FILE /nonexistent/yuju.env does not exist.");
  });
});
