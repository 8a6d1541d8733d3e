import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { BUILD_DIR } from "./build-servers.ts";
import { addChildCpu, pin, processCpuSeconds } from "./machine.ts";

/** What a bench server sends its parent: `ready` once, `stats` when asked, `drained` when done. */
export type ChildMessage = { type: string; [key: string]: unknown };

export interface BenchChild {
  pid: number;
  ready: ChildMessage;
  /** Asks the child a question over IPC and waits for the answer of that type. */
  ask<T extends ChildMessage>(type: string, timeoutMs?: number): Promise<T>;
  /** Resolves with the first message of that type the child sends from now on. */
  next<T extends ChildMessage>(type: string, timeoutMs: number): Promise<T>;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export type ServerName = "ingress" | "bare-koa" | "koa-redis" | "worker" | "sender";

let nodeOptionsByStage: Map<string, string> | undefined;

function readNodeOptionsByStage(): Map<string, string> {
  const options = new Map<string, string>();
  let current = "";
  for (const line of readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8").split("\n")) {
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) current = from[1]!;
    const env = /^ENV\s.*NODE_OPTIONS=("([^"]*)"|(\S+))/.exec(line);
    if (env) options.set(current, env[2] ?? env[3] ?? "");
  }
  return options;
}

/**
 * The node options an app's production image runs it with: NODE_OPTIONS of its Dockerfile stage,
 * else of the shared `runtime` stage. Read from the Dockerfile so that the bench cannot drift from
 * it. The Koa references run as a plain app would, with the runtime's options.
 */
export function imageNodeOptions(server: ServerName): string[] {
  const stage = server === "ingress" || server === "worker" ? server : server === "sender" ? "worker" : "runtime";
  const options = (nodeOptionsByStage ??= readNodeOptionsByStage());
  const value = options.get(stage) ?? options.get("runtime");
  if (value === undefined) throw new Error("Dockerfile: no NODE_OPTIONS in the runtime stage");
  return value.split(" ").filter(Boolean);
}

/** Where servers run: bench/run.ts sets it per scenario (null: wherever the scheduler puts them). */
export const placement: { serverCpus: string | null } = { serverCpus: null };

/**
 * Runs a bench server (bundled by buildServers) in its own process, so that the load generator and
 * the server under test do not share an event loop; with the production image's node options.
 */
export async function startChild(server: ServerName, env: Record<string, string>): Promise<BenchChild> {
  const profile = process.env.BENCH_CPU_PROF;
  const child: ChildProcess = fork(`${BUILD_DIR}${server}.mjs`, [], {
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every bench server (bench/profile-summary.ts reads it).
    // BENCH_NODE_ARGS adds node options to every bench server (e.g. --trace-gc), for diagnosis.
    execArgv: [
      ...imageNodeOptions(server),
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    env: { ...process.env, NODE_ENV: "production", ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T extends ChildMessage>(type: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off("message", onMessage);
        reject(new Error(`${server}: no "${type}" within ${timeoutMs}ms`));
      }, timeoutMs);
      const onMessage = (message: ChildMessage) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(message as T);
      };
      child.on("message", onMessage);
      child.once("exit", (code) => reject(new Error(`${server} exited (${code}) before "${type}"`)));
    });
  const pid = child.pid ?? 0;
  if (placement.serverCpus) pin(pid, placement.serverCpus);
  const ready = await next("ready", 30_000);
  return {
    pid,
    ready,
    next,
    ask(type, timeoutMs = 10_000) {
      const answer = next<never>(type, timeoutMs);
      child.send({ type });
      return answer;
    },
    peakRss: () => statusField(pid, "VmHWM"),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      // Read before it exits: what it used counts as the bench's own load (bench/lib/machine.ts).
      addChildCpu(processCpuSeconds(pid));
      child.send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A `kB` line of /proc/<pid>/status, in bytes. */
export function statusField(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
}
