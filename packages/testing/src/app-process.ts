import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface AppProcess {
  child: ChildProcess;
  /** Every JSON log line so far (non-JSON lines are kept as `{ msg: line }`). */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose `msg` matches. */
  waitForLog(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts an app (`apps/<name>/src/main.ts`, or any repo-relative entry) as a real child process. */
export function spawnApp(entry: string, env: Record<string, string>, args: string[] = []): AppProcess {
  const file = entry.includes("/") ? resolve(repoRoot, entry) : resolve(repoRoot, `apps/${entry}/src/main.ts`);
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ msg: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    let entryLine: Record<string, unknown>;
    try {
      entryLine = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entryLine = { msg: line };
    }
    logs.push(entryLine);
    for (const waiter of [...waiters]) {
      if (waiter.msg.test(String(entryLine.msg))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(entryLine);
      }
    }
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    logs,
    exited,
    waitForLog(msg, timeoutMs = 20_000) {
      const seen = logs.find((l) => msg.test(String(l.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no log matching ${msg} within ${timeoutMs}ms; logs: ${JSON.stringify(logs.slice(-10))}`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (line) => {
            clearTimeout(timer);
            resolvePromise(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before logging ${msg}; logs: ${JSON.stringify(logs.slice(-10))}`));
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
