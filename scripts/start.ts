/**
 * `pnpm start`: the whole relay on one machine, for trying it and for development. Reads `.env` (the
 * file docker compose reads; a variable set in the shell wins), starts the ingress, the worker and
 * the dashboard as child processes and, when REDIS_URL is unset, a redis-server of its own with the
 * settings BullMQ needs (AOF on, noeviction) on a free port. Its ready line comes once every app has
 * parsed its config and listens or consumes. Production runs each app on its own (see README).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { AppReadyMessage } from "@yuju-relay/app-lifecycle";
import { LauncherStop, startLocalRedis } from "./start/local-redis.ts";
import { opsPortsFor } from "./start/ops-ports.ts";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);
const APPS = ["ingress", "worker", "dashboard"] as const;
type AppName = (typeof APPS)[number];
const apps = new Map<AppName, ChildProcess>();
let redis: ChildProcess | undefined;
let stopping = false;

function prefixed(name: string, child: ChildProcess) {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
}

function loadDotEnv() {
  const file = resolve(root, process.env.ENV_FILE || ".env");
  if (!existsSync(file)) {
    if (process.env.ENV_FILE) throw new LauncherStop(`ENV_FILE ${process.env.ENV_FILE} does not exist.`);
    return;
  }
  // Node's own parser: it never overrides a variable already in the environment, even an empty one.
  process.loadEnvFile(file);
  say(`read ${relative(root, file) || file} (a variable set in the shell wins)`);
}

const ready = new Map<AppName, AppReadyMessage>();
function sayReady(env: NodeJS.ProcessEnv) {
  const port = (app: AppName) => (ready.get(app)?.url ? new URL(ready.get(app)!.url!).port : "?");
  say(
    `ready. callbacks: http://localhost:${port("ingress")}/notice · dashboard: http://localhost:${port("dashboard")}/ (user ${env.DASHBOARD_USER || "admin"}) · Ctrl-C to stop`,
  );
}

function startApp(name: AppName, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, `apps/${name}/src/main.ts`)], {
    cwd: root,
    env,
    // The IPC channel carries only the app's ready message (packages/runtime).
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: true,
  });
  prefixed(name, child);
  apps.set(name, child);
  child.on("message", (message: AppReadyMessage) => {
    if (message?.type !== "ready" || stopping) return;
    ready.set(name, message);
    // After this turn's reads, so that the apps' last log lines usually come first. Not always:
    // pino writes asynchronously, so a line logged just before the message may arrive just after.
    if (ready.size === APPS.length) setImmediate(() => sayReady(env));
  });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping everything`);
    void stopAll(1);
  });
}

function stopped(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => {
    child.once("exit", (code) => done(code));
    child.kill("SIGTERM");
  });
}

async function stopAll(exitCode: number) {
  stopping = true;
  // Apps first (they finish in-flight work), Redis last (it writes its AOF on SIGTERM).
  const codes = await Promise.all([...apps.values()].map(stopped));
  if (redis) await stopped(redis);
  const clean = codes.every((code) => code === 0);
  if (!clean) say(`an app did not stop cleanly (exit codes ${codes.join(", ")})`);
  process.exit(clean ? exitCode : 1);
}

// Children live in their own process groups; never leave them behind if this process dies.
process.on("exit", () => {
  for (const child of [...apps.values(), redis]) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});
// The terminal may go away before the apps finish logging their shutdown.
process.stdout.on("error", () => {});

// `on`, not `once`: under `pnpm start` a Ctrl-C arrives twice (from the terminal and forwarded by
// pnpm). A second signal left to Node's default would kill this process mid-stop, and pnpm would
// then report the signal as a failed command.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    say(`${signal}: stopping (active jobs finish first)`);
    void stopAll(0);
  });
}

try {
  loadDotEnv();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!env.REDIS_URL) {
    const dir = resolve(root, env.LOCAL_REDIS_DIR || ".data/redis");
    const local = await startLocalRedis({
      requestedPort: env.LOCAL_REDIS_PORT,
      dir,
      onOutput: (child) => prefixed("redis", child),
    });
    redis = local.child;
    env.REDIS_URL = local.url;
    say(`started redis-server on ${local.url}, data (AOF) in ${dir}`);
  }
  // A spool on this machine's disk: callbacks still get their 200 while Redis is away (restarted,
  // stopped), and reach the queue once it is back.
  env.SPOOL_DIR = resolve(root, env.SPOOL_DIR || ".data/spool");
  say(`callbacks that Redis cannot take are spooled in ${env.SPOOL_DIR}`);
  // A password in a file (DASHBOARD_PASSWORD_FILE) is one set: generating another would make both.
  if (!env.DASHBOARD_PASSWORD && !env.DASHBOARD_PASSWORD_FILE) {
    env.DASHBOARD_PASSWORD = randomBytes(12).toString("base64url");
    say(`DASHBOARD_PASSWORD was not set; generated one for this run: ${env.DASHBOARD_PASSWORD}`);
  }
  const ops = opsPortsFor(env.OPS_PORT);
  for (const app of APPS) {
    const opsPort = app === "ingress" ? ops.ingress : app === "worker" ? ops.worker : undefined;
    if (!stopping) startApp(app, opsPort === undefined ? env : { ...env, OPS_PORT: opsPort });
  }
  say("starting the ingress, a worker and the dashboard");
} catch (error) {
  if (!(error instanceof LauncherStop)) throw error;
  process.stderr.write(`[start] ${error.message.replaceAll("\n", "\n[start] ")}\n`);
  process.exit(1);
}
