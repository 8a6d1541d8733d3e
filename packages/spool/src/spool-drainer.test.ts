import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@yuju-relay/logging";
import { eventually } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { SpoolDrainer } from "./spool-drainer.ts";
import { Spool } from "./spool.ts";

const logger = createLogger("spool-test", "silent");
const openSpool = () =>
  Spool.open({ dir: mkdtempSync(join(tmpdir(), "yuju-drainer-test-")), maxBytes: 1024 * 1024, logger });

describe("spool drainer", () => {
  it("delivers in order, keeps a batch whose delivery failed, and removes it only once delivered", async () => {
    const spool = await openSpool();
    for (let i = 0; i < 25; i++) await spool.append(`r-${i}`);
    const delivered: string[] = [];
    let failuresLeft = 3;
    let drainedCount = 0;
    const drainer = new SpoolDrainer({
      spool,
      maxPerSecond: 10_000,
      logger,
      retryDelayMs: 10,
      canDeliver: () => true,
      deliver: async (payloads) => {
        if (failuresLeft-- > 0) throw new Error("redis away");
        delivered.push(...payloads.map((p) => p.toString()));
      },
      onDrained: (n) => (drainedCount += n),
    });
    drainer.start();
    await eventually(() => expect(spool.holdsRecords).toBe(false));
    expect(delivered).toEqual(Array.from({ length: 25 }, (_, i) => `r-${i}`));
    // Counted once the removal is written, just after the spool reads empty.
    await eventually(() => expect(drainedCount).toBe(25));
    // Records appended later wake it up.
    await spool.append("later");
    await eventually(() => expect(delivered.at(-1)).toBe("later"));
    await drainer.stop();
    await spool.close();
  });

  it("does not try while it cannot deliver", async () => {
    const spool = await openSpool();
    await spool.append("waiting");
    let up = false;
    let attempts = 0;
    let asked = 0;
    const drainer = new SpoolDrainer({
      spool,
      maxPerSecond: 1000,
      logger,
      retryDelayMs: 5,
      canDeliver: () => {
        asked += 1;
        return up;
      },
      deliver: async () => void attempts++,
    });
    drainer.start();
    await eventually(() => expect(asked).toBeGreaterThan(3));
    expect(attempts).toBe(0);
    expect(spool.state.records).toBe(1);
    up = true;
    await eventually(() => expect(spool.state.records).toBe(0));
    expect(attempts).toBe(1);
    await drainer.stop();
    await spool.close();
  });

  it("keeps to its rate: 60 records at 200/s take at least 0.2 s", async () => {
    const spool = await openSpool();
    for (let i = 0; i < 60; i++) await spool.append(`r-${i}`);
    const drainer = new SpoolDrainer({
      spool,
      maxPerSecond: 200,
      logger,
      canDeliver: () => true,
      deliver: async () => {},
    });
    const started = performance.now();
    drainer.start();
    await eventually(() => expect(spool.holdsRecords).toBe(false), { timeoutMs: 5_000 });
    // A lower bound only, which holds on any machine however slow: three batches of 20, each
    // followed by a pause to keep 200/s (the last one's pause comes after its removal).
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    await drainer.stop();
    await spool.close();
  });

  it("stops promptly while idle, and lets a delivery in flight finish", async () => {
    const spool = await openSpool();
    const idle = new SpoolDrainer({ spool, maxPerSecond: 10, logger, canDeliver: () => true, deliver: async () => {} });
    idle.start();
    await idle.stop();

    await spool.append("in-flight");
    let release: (() => void) | undefined;
    const busy = new SpoolDrainer({
      spool,
      maxPerSecond: 1000,
      logger,
      canDeliver: () => true,
      deliver: () => new Promise<void>((resolve) => (release = resolve)),
    });
    busy.start();
    await eventually(() => expect(release).not.toBe(undefined));
    const stopped = busy.stop();
    release!();
    await stopped;
    expect(spool.state.records).toBe(0);
    await spool.close();
  });
});
