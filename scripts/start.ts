/**
 * `pnpm start`: the whole relay on one machine, for trying it and for development. Starts the
 * ingress, the worker and the dashboard as child processes; when REDIS_URL is unset it also starts
 * a local redis-server with the settings BullMQ needs (AOF on, noeviction) in a data folder.
 * Production runs each app on its own (see README: docker compose, or `pnpm start:<app>`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitForRedis } from "@yuju-relay/queue";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);
const children: ChildProcess[] = [];
let stopping = false;

function prefixed(name: string, child: ChildProcess) {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
}

async function localRedis(): Promise<string> {
  if (spawnSync("redis-server", ["--version"]).error) {
    process.stderr.write(
      [
        "[start] No Redis to use. Either:",
        "  - set REDIS_URL to a Redis you run (redis://host:6379), or",
        "  - install redis-server (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or",
        "  - run the whole stack in containers: docker compose up",
        "",
      ].join("\n"),
    );
    process.exit(1);
  }
  const port = process.env.LOCAL_REDIS_PORT || "6379";
  const dir = resolve(root, process.env.LOCAL_REDIS_DIR || ".data/redis");
  mkdirSync(dir, { recursive: true });
  const redis = spawn(
    "redis-server",
    [
      "--port",
      port,
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--maxmemory-policy",
      "noeviction",
      "--save",
      "",
    ],
    // Own process group: Ctrl-C reaches only this launcher, which stops Redis after the apps.
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  prefixed("redis", redis);
  children.push(redis);
  const url = `redis://127.0.0.1:${port}`;
  await waitForRedis(url, { stillStarting: () => redis.exitCode === null });
  say(`started redis-server on ${url}, data (AOF) in ${dir}`);
  return url;
}

function startApp(name: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, `apps/${name}/src/main.ts`)], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  prefixed(name, child);
  children.push(child);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping everything`);
    void stopAll(1);
  });
}

async function stopAll(exitCode: number) {
  stopping = true;
  // Apps first (they finish in-flight work), Redis last (it writes its AOF on SIGTERM).
  const apps = children.filter((c) => !c.spawnfile.includes("redis"));
  const redis = children.filter((c) => c.spawnfile.includes("redis"));
  for (const group of [apps, redis]) {
    await Promise.all(
      group.map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((done) => {
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
      ),
    );
  }
  process.exit(exitCode);
}

// Children live in their own process groups; never leave them behind if this process dies.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
// The terminal may go away before the apps finish logging their shutdown.
process.stdout.on("error", () => {});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping (active jobs finish first)`);
    void stopAll(0);
  });
}

const env: NodeJS.ProcessEnv = { ...process.env };
env.REDIS_URL ||= await localRedis();
if (!env.DASHBOARD_PASSWORD) {
  env.DASHBOARD_PASSWORD = randomBytes(12).toString("base64url");
  say(`DASHBOARD_PASSWORD was not set; generated one for this run: ${env.DASHBOARD_PASSWORD}`);
}
for (const app of ["ingress", "worker", "dashboard"]) startApp(app, env);
say(
  `callbacks: http://localhost:${env.PORT || 3000}/notice · dashboard: http://localhost:${env.DASHBOARD_PORT || 3001}/ (user ${env.DASHBOARD_USER || "admin"}) · Ctrl-C to stop`,
);
