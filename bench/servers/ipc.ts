import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** The child side of bench/lib/child.ts: announce readiness, answer questions, stop on request. */
export function serveParent(
  ready: Record<string, unknown>,
  answers: Record<string, () => unknown | Promise<unknown>>,
  stop: () => Promise<void>,
): void {
  process.on("message", (message: { type: string }) => {
    if (message.type === "stop") {
      void stop().finally(() => process.exit(0));
      return;
    }
    const answer = message.type === "memory" ? memory : answers[message.type];
    if (answer)
      void Promise.resolve(answer()).then((value) => process.send?.({ type: message.type, ...(value as object) }));
  });
  // The parent going away must not leave a server behind.
  process.on("disconnect", () => process.exit(0));
  process.send?.({ type: "ready", ...ready });
}

/** Memory now, and after a full garbage collection: tells garbage from what is retained. */
function memory() {
  const before = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1048576)]),
  );
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  const after = process.memoryUsage();
  return { before, after, spaces };
}

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bench server: ${name} is not set`);
  return value;
}
