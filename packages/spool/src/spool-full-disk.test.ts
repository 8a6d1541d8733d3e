import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { mountSmallFileSystem, smallFileSystemUnavailable, type SmallFileSystem } from "@yuju-relay/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Spool } from "./spool.ts";

const unavailable = await smallFileSystemUnavailable();
if (unavailable) {
  process.stderr.write(
    `spool full-disk tests skipped: cannot mount a small file system (${unavailable}). ` +
      "They need root (tmpfs, or an ext4 loop file); the tests with an injected ENOSPC still run.\n",
  );
}

function recordingLogger() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".spool"));
const record = (i: number) => JSON.stringify({ messageId: `full-${i}`, text: "x".repeat(1000) });

/** Appends (8 at a time, as concurrent requests do) until the disk refuses; what was acknowledged. */
async function fill(spool: Spool, from = 0): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = from; ; i += 8) {
    const batch = Array.from({ length: 8 }, (_, k) => record(i + k));
    const outcomes = await Promise.all(batch.map((p) => spool.append(p)));
    outcomes.forEach((o, k) => o.spooled && acknowledged.push(batch[k]!));
    if (outcomes.some((o) => !o.spooled)) return acknowledged;
  }
}

async function drainAll(spool: Spool): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.peek(20, 1024 * 1024);
    if (!batch) return out;
    out.push(...batch.records.map((r) => r.payload.toString("utf8")));
    await spool.remove(batch);
  }
}

describe.skipIf(unavailable !== null)("spool on a 256 KB file system filled up (real files)", () => {
  let disk: SmallFileSystem | undefined;
  afterEach(async () => {
    await disk?.unmount();
    disk = undefined;
  });

  it("refuses once full, leaves no stray file, frees the disk once drained, and spools again without a restart", async () => {
    disk = await mountSmallFileSystem(256 * 1024);
    const dir = join(disk.dir, "spool");
    const { logger, lines } = recordingLogger();
    const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
    const warning = lines.find((l) => /larger than the free space/.test(l.msg));
    expect(warning).toMatchObject({ maxBytes: 64 * 1024 * 1024, freeBytes: expect.any(Number) });
    expect(warning!.freeBytes).toBeLessThanOrEqual(256 * 1024);

    const acknowledged = await fill(spool);
    expect(acknowledged.length).toBeGreaterThan(100);
    for (let i = 0; i < 20; i++) expect((await spool.append(record(10_000 + i))).spooled).toBe(false);
    expect(spool.state.failing).toBe(true);
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(2);
    expect(disk.usage().freeBytes).toBeLessThan(16 * 1024);

    expect(await drainAll(spool)).toEqual(acknowledged);
    expect(segmentFiles(dir)).toEqual([]);
    const { freeBytes, totalBytes } = disk.usage();
    expect(freeBytes / totalBytes).toBeGreaterThanOrEqual(0.9);
    expect(await spool.freeBytes()).toBe(freeBytes);
    expect(spool.state.failing).toBe(false);

    // The next outage is spooled again, the same process.
    const again = await fill(spool, 20_000);
    expect(again.length).toBeGreaterThan(100);
    await spool.close();

    // A restart on the full disk finds every acknowledged record, and no damage.
    const reopened = recordingLogger();
    const second = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger: reopened.logger });
    expect(reopened.lines.filter((l) => /damaged|unreadable/.test(l.msg))).toEqual([]);
    expect(await drainAll(second)).toEqual(again);
    expect(disk.usage().freeBytes / totalBytes).toBeGreaterThanOrEqual(0.9);
    await second.close();
  });
});
