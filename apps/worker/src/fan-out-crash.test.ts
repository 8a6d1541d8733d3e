import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, messageCallback, startReceiver, type Receiver } from "@yuju-relay/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { readEventRecord, type CallbackJobResult } from "@yuju-relay/queue";
import { acceptedIds, startRelayStack } from "./testing/relay-stack.ts";

describe("a worker SIGKILLed in the middle of a fan-out (real child processes)", () => {
  const receivers: Record<string, Receiver> = {};
  let stack: Awaited<ReturnType<typeof startRelayStack>> | undefined;
  afterEach(async () => {
    await stack?.close();
    for (const r of Object.values(receivers)) await r.close();
  });

  it("runs the callback job again elsewhere, and no destination gets the event twice", async () => {
    for (const name of ["a", "b", "c"]) receivers[name] = await startReceiver();
    // A handlers module that queues the event for `a`, then kills its own process (once), before
    // `b` and `c`: the fan-out is cut exactly in the middle.
    const dir = mkdtempSync(join(tmpdir(), "fan-out-crash-"));
    const marker = join(dir, "killed");
    const handlers = join(dir, "handlers.mjs");
    writeFileSync(
      handlers,
      `import { existsSync, writeFileSync } from "node:fs";
export default {
  "message.received": async (event, ctx) => {
    await ctx.deliver("a");
    if (!existsSync(${JSON.stringify(marker)})) {
      writeFileSync(${JSON.stringify(marker)}, String(process.pid));
      process.kill(process.pid, "SIGKILL");
    }
    await ctx.deliver("b");
    await ctx.deliver("c");
    return { pid: process.pid };
  },
};
`,
    );
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 1,
      workerEnv: { HANDLERS_MODULE: handlers },
      destinations: ["a", "b", "c"].map((name) => ({ name, receiver: receivers[name]! })),
    });
    const first = stack.workers[0]!;
    await stack.post(messageCallback("crash-1"));
    expect(await first.exited).toBe(null); // killed by its signal, not exited
    // Only `a` was delivered (inline, and recorded) before it died.
    expect(acceptedIds("a", receivers.a!)).toEqual(["msg_crash-1"]);
    expect((await readEventRecord(stack.redis, stack.prefix, "msg_crash-1"))?.destinations.a?.state).toBe("delivered");
    expect(receivers.b!.deliveries).toHaveLength(0);

    const second = await stack.startWorkerProcess();
    const job = await eventually(
      async () => {
        const [completed] = await stack!.callbacks.getCompleted();
        expect(completed).toBeDefined();
        return completed!;
      },
      { timeoutMs: 15_000 },
    );
    expect(job.attemptsStarted).toBe(2); // it ran twice: once cut short, once to the end
    expect(job.returnvalue as CallbackJobResult).toMatchObject({
      outcome: "handled",
      destinations: ["a", "b", "c"],
      delivered: ["b", "c"], // `a` was not sent again: the record said delivered
    });
    expect((job.returnvalue as { result: { pid: number } }).result.pid).toBe(second.child.pid);
    for (const name of ["a", "b", "c"]) {
      await eventually(() => expect(acceptedIds(name, receivers[name]!)).toEqual(["msg_crash-1"]));
      expect(await stack.deliveries.get(name)!.count()).toBe(0);
    }
    const record = await readEventRecord(stack.redis, stack.prefix, "msg_crash-1");
    expect(record?.attempts.map((a) => [a.destination, a.outcome])).toEqual([
      ["a", "delivered"],
      ["b", "delivered"],
      ["c", "delivered"],
    ]);
    expect(receivers.a!.deliveries).toHaveLength(1);
  });

  it(
    "configured fan-out: a worker killed under load delivers every event to each destination, a second time only if in flight at the kill",
    { timeout: 120_000 },
    async () => {
      for (const name of ["x", "y", "z"]) receivers[name] = await startReceiver();
      stack = await startRelayStack({
        redisUrl: inject("redisUrl"),
        workers: 2,
        destinations: ["x", "y", "z"].map((name) => ({ name, receiver: receivers[name]! })),
      });
      const total = 300;
      await Promise.all(Array.from({ length: total }, (_, i) => stack!.post(messageCallback(`load-${i}`))));
      // Kill one worker while callbacks are still being fanned out.
      await eventually(() => expect(receivers.x!.deliveries.length).toBeGreaterThan(10), { intervalMs: 5 });
      stack.workers[0]!.child.kill("SIGKILL");
      await stack.startWorkerProcess();
      const results = await eventually(
        async () => {
          const completed = await stack!.callbacks.getCompleted(0, -1);
          expect(completed).toHaveLength(total);
          return completed.map((j) => j.returnvalue as CallbackJobResult);
        },
        { timeoutMs: 60_000 },
      );
      expect(results.every((r) => r.outcome === "queued")).toBe(true);
      const concurrency = Number(stack.env.WORKER_CONCURRENCY);
      for (const name of ["x", "y", "z"]) {
        const queue = stack.deliveries.get(name)!;
        await eventually(async () => expect(await queue.getJobCountByTypes("waiting", "active", "delayed")).toBe(0));
        const accepted = acceptedIds(name, receivers[name]!);
        expect(new Set(accepted).size).toBe(total);
        // A re-run sends again only what the killed worker had in flight (its callback jobs at once),
        // under the same webhook-id; everything recorded as delivered is not sent again.
        expect(accepted.length - total).toBeLessThanOrEqual(concurrency);
      }
    },
  );
});
