import { mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nodeFileSystem, type SpoolFileSystem } from "./spool-file-system.ts";
import { Spool, type SpoolOptions } from "./spool.ts";

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

const freshDir = () => mkdtempSync(join(tmpdir(), "yuju-spool-fault-"));
const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".spool"));
const payloads = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `{"messageId":"m-${from + i}"}`);

const diskError = (code: "ENOSPC" | "EIO", call: string) =>
  Object.assign(new Error(`${code}: ${code === "ENOSPC" ? "no space left on device" : "i/o error"}, ${call}`), {
    code,
  });

/**
 * Real files, with the faults a full or failing disk causes where the test asks for them: a write
 * that lands half of its bytes then fails (what ENOSPC does mid-record), an fsync that fails, and
 * a free-space figure the test sets.
 */
function faultyFileSystem() {
  const faults: {
    /** Which files' writes and fsyncs fail: segments, or the cursor (its temporary file). */
    write: { file: "segment" | "cursor"; code: "ENOSPC" | "EIO" } | null;
    sync: { file: "segment" | "cursor"; code: "ENOSPC" | "EIO" } | null;
    freeBytes: number | null;
  } = { write: null, sync: null, freeBytes: null };
  const calls = { freeBytes: 0 };
  const fileOf = (path: string) => (basename(path).startsWith("cursor") ? "cursor" : "segment");
  const fs: SpoolFileSystem = {
    ...nodeFileSystem,
    async open(path, flags) {
      const handle = await nodeFileSystem.open(path, flags);
      return new Proxy(handle, {
        get(target, property) {
          const write = faults.write;
          if (property === "write" && write?.file === fileOf(path)) {
            return async (buffer: Buffer, offset: number, length: number, position: number) => {
              const half = Math.floor(length / 2);
              if (half > 0) await target.write(buffer, offset, half, position);
              throw diskError(write.code, "write");
            };
          }
          const sync = faults.sync;
          if ((property === "datasync" || property === "sync") && sync?.file === fileOf(path)) {
            return () => Promise.reject(diskError(sync.code, "fdatasync"));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }) as FileHandle;
    },
    async freeBytes(path) {
      calls.freeBytes += 1;
      return faults.freeBytes ?? nodeFileSystem.freeBytes(path);
    },
  };
  return { fs, faults, calls };
}

async function openSpool(dir: string, options: Partial<SpoolOptions> = {}) {
  const log = recordingLogger();
  const spool = await Spool.open({ dir, maxBytes: 10 * 1024 * 1024, logger: log.logger, ...options });
  return { spool, lines: log.lines };
}

async function drainAll(spool: Spool, batchSize = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.peek(batchSize, 1024 * 1024);
    if (!batch) return out;
    out.push(...batch.records.map((r) => r.payload.toString("utf8")));
    await spool.remove(batch);
  }
}

/** What a restart finds: it opens without a word about damage, and gives back exactly `expected`. */
async function expectCleanReopen(dir: string, expected: string[]) {
  const { spool, lines } = await openSpool(dir);
  expect(lines.filter((l) => /damaged|torn|without a valid header|unreadable/.test(l.msg))).toEqual([]);
  expect(await drainAll(spool)).toEqual(expected);
  expect(segmentFiles(dir)).toEqual([]);
  await spool.close();
}

afterEach(() => {
  vi.useRealTimers();
});

describe("spool: the disk refuses a write (injected ENOSPC / EIO, real files)", () => {
  it("a failed append (ENOSPC halfway through the record) leaves no partial record; the records before it stay", async () => {
    const dir = freshDir();
    const { fs, faults } = faultyFileSystem();
    const { spool, lines } = await openSpool(dir, { fileSystem: fs, spaceCheckIntervalMs: 0 });
    const kept = payloads(5);
    for (const p of kept) expect(await spool.append(p)).toEqual({ spooled: true });
    const [segment] = segmentFiles(dir);
    const size = statSync(join(dir, segment!)).size;

    faults.write = { file: "segment", code: "ENOSPC" };
    expect(await spool.append("refused")).toMatchObject({ spooled: false, reason: "failed" });
    expect(spool.state).toMatchObject({ failing: true, records: 5, appending: 0 });
    expect(segmentFiles(dir)).toEqual([segment]);
    expect(statSync(join(dir, segment!)).size).toBe(size);
    expect(lines.filter((l) => /the disk refused a write/.test(l.msg))).toHaveLength(1);

    // Still no room: refused without a write, and without a file.
    faults.write = null;
    faults.freeBytes = 1_000;
    expect(await spool.append("no room")).toMatchObject({ spooled: false, reason: "failed" });
    expect(segmentFiles(dir)).toEqual([segment]);
    // Room again: written, into a new segment (the one that failed takes no more).
    faults.freeBytes = null;
    expect(await spool.append("after")).toEqual({ spooled: true });
    expect(spool.state.failing).toBe(false);
    expect(lines.some((l) => /room on the disk again/.test(l.msg))).toBe(true);
    await spool.close();
    await expectCleanReopen(dir, [...kept, "after"]);
  });

  it("a failed fsync (ENOSPC, then EIO) leaves no partial record, and the spool opens cleanly", async () => {
    const dir = freshDir();
    const { fs, faults } = faultyFileSystem();
    const { spool } = await openSpool(dir, { fileSystem: fs, spaceCheckIntervalMs: 0 });
    await spool.append("first");
    faults.sync = { file: "segment", code: "ENOSPC" };
    expect(await spool.append("lost-1")).toMatchObject({ spooled: false, reason: "failed" });
    faults.sync = { file: "segment", code: "EIO" };
    expect(await spool.append("lost-2")).toMatchObject({ spooled: false, reason: "failed" });
    // A failed header fsync deletes the new segment: only the first one is left.
    expect(segmentFiles(dir)).toHaveLength(1);
    // EIO is not a matter of room: failing until a write succeeds.
    expect(await spool.freeBytes()).toBeGreaterThan(1024 * 1024);
    expect(spool.state.failing).toBe(true);
    faults.sync = null;
    expect(await spool.append("second")).toEqual({ spooled: true });
    expect(spool.state.failing).toBe(false);
    await spool.close();
    await expectCleanReopen(dir, ["first", "second"]);
  });

  it("a failed first append creates no file at all", async () => {
    const dir = freshDir();
    const { fs, faults } = faultyFileSystem();
    const { spool } = await openSpool(dir, { fileSystem: fs, spaceCheckIntervalMs: 0 });
    faults.write = { file: "segment", code: "ENOSPC" };
    for (let i = 0; i < 10; i++) expect((await spool.append(`x-${i}`)).spooled).toBe(false);
    expect(segmentFiles(dir)).toEqual([]);
    faults.sync = { file: "segment", code: "EIO" };
    faults.write = null;
    expect((await spool.append("x")).spooled).toBe(false);
    expect(segmentFiles(dir)).toEqual([]);
    await spool.close();
    await expectCleanReopen(dir, []);
  });

  it("a cursor write that fails (ENOSPC) keeps the old cursor: the restart drains again from there", async () => {
    const dir = freshDir();
    const { fs, faults } = faultyFileSystem();
    const { spool, lines } = await openSpool(dir, { fileSystem: fs });
    const written = payloads(10);
    for (const p of written) await spool.append(p);
    await spool.remove((await spool.peek(4, 1024 * 1024))!);
    const cursor = readFileSync(join(dir, "cursor"));

    faults.write = { file: "cursor", code: "ENOSPC" };
    await spool.remove((await spool.peek(3, 1024 * 1024))!);
    faults.write = null;
    faults.sync = { file: "cursor", code: "ENOSPC" };
    await spool.remove((await spool.peek(1, 1024 * 1024))!);
    expect(spool.state).toMatchObject({ records: 2, drained: 8 });
    expect(readFileSync(join(dir, "cursor"))).toEqual(cursor);
    expect(readdirSync(dir).filter((name) => name.startsWith("cursor"))).toEqual(["cursor"]);
    expect(lines.filter((l) => /cannot record the drain position/.test(l.msg))).toHaveLength(1);
    await spool.close();
    // What the failed writes would have recorded is drained again: at least once, never lost.
    await expectCleanReopen(dir, written.slice(4));
  });

  it("a missing or unreadable cursor at start: drained again from the oldest segment, with a log line", async () => {
    for (const damage of ["missing", "empty", "garbage"] as const) {
      const dir = freshDir();
      const first = await openSpool(dir);
      const written = payloads(6);
      for (const p of written) await first.spool.append(p);
      await first.spool.remove((await first.spool.peek(3, 1024 * 1024))!);
      await first.spool.close();
      if (damage === "missing") unlinkSync(join(dir, "cursor"));
      else writeFileSync(join(dir, "cursor"), damage === "empty" ? "" : "not a cursor, 20 bytes");

      const second = await openSpool(dir);
      const said = second.lines.find((l) => /cursor/.test(l.msg));
      expect(said?.msg).toMatch(damage === "missing" ? /no drain cursor/ : /drain cursor unreadable/);
      expect(said?.level).toBe(40);
      expect(await drainAll(second.spool)).toEqual(written);
      await second.spool.close();
    }
  });

  it("reads the free space before a retry, at most once per check interval, not on every append", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const dir = freshDir();
    const { fs, faults, calls } = faultyFileSystem();
    const { spool } = await openSpool(dir, { fileSystem: fs, spaceCheckIntervalMs: 1_000 });
    await spool.append("first");
    faults.write = { file: "segment", code: "ENOSPC" };
    faults.freeBytes = 0;
    expect((await spool.append("fails")).spooled).toBe(false);
    faults.write = null;
    const before = calls.freeBytes;

    // Within the interval: refused at once, the free space not even read.
    const refused = await Promise.all(payloads(50).map((p) => spool.append(p)));
    expect(refused.every((o) => !o.spooled)).toBe(true);
    expect(calls.freeBytes).toBe(before);
    // The interval over: one reading for every append that waits for it; still no room.
    vi.setSystemTime(Date.now() + 1_001);
    const stillFull = await Promise.all(payloads(50).map((p) => spool.append(p)));
    expect(stillFull.every((o) => !o.spooled && /disk full \(0 bytes free\)/.test(o.error))).toBe(true);
    expect(await spool.freeBytes()).toBe(0);
    expect(calls.freeBytes).toBe(before + 1);
    // Room again: the next reading, an interval later, ends the failing state; the appends are written.
    faults.freeBytes = 10 * 1024 * 1024;
    expect((await spool.append("too soon")).spooled).toBe(false);
    vi.setSystemTime(Date.now() + 1_001);
    expect(await Promise.all(payloads(3, 100).map((p) => spool.append(p)))).toEqual(
      Array.from({ length: 3 }, () => ({ spooled: true })),
    );
    expect(spool.state.failing).toBe(false);
    expect(await drainAll(spool)).toEqual(["first", ...payloads(3, 100)]);
    await spool.close();
  });

  it("a drain that frees room makes the next append try at once", async () => {
    const dir = freshDir();
    const { fs, faults } = faultyFileSystem();
    const { spool } = await openSpool(dir, { fileSystem: fs, spaceCheckIntervalMs: 60_000 });
    await spool.append("held");
    faults.write = { file: "segment", code: "ENOSPC" };
    expect((await spool.append("fails")).spooled).toBe(false);
    faults.write = null;
    expect((await spool.append("within the interval")).spooled).toBe(false);
    expect(await drainAll(spool)).toEqual(["held"]);
    expect(segmentFiles(dir)).toEqual([]);
    expect(await spool.append("after the drain")).toEqual({ spooled: true });
    await spool.close();
  });
});

describe("spool: drained segments go at once", () => {
  it("deletes each segment as its last record is removed, the one being written too", async () => {
    const dir = freshDir();
    const { spool } = await openSpool(dir, { segmentBytes: 1024 });
    const written = payloads(150);
    for (const p of written) await spool.append(p);
    const before = segmentFiles(dir);
    expect(before.length).toBeGreaterThan(3);
    const drained: string[] = [];
    while (segmentFiles(dir).length > 1) {
      const batch = (await spool.peek(5, 1024 * 1024))!;
      drained.push(...batch.records.map((r) => r.payload.toString()));
      await spool.remove(batch);
      // No drained segment is left behind: every file but the last holds a record not yet drained.
      expect(segmentFiles(dir)).toEqual(before.slice(before.length - segmentFiles(dir).length));
    }
    drained.push(...(await drainAll(spool)));
    expect(drained).toEqual(written);
    expect(segmentFiles(dir)).toEqual([]);
    await spool.close();
  });

  it("with an append in flight as the segment being written is drained: the append goes to a new segment, and the old one is deleted", async () => {
    const dir = freshDir();
    const { spool } = await openSpool(dir);
    await spool.append("a");
    const batch = (await spool.peek(10, 1024 * 1024))!;
    const [old] = segmentFiles(dir);
    const inFlight = spool.append("b");
    await spool.remove(batch);
    expect(await inFlight).toEqual({ spooled: true });
    const next = (await spool.peek(10, 1024 * 1024))!;
    expect(segmentFiles(dir)).not.toContain(old);
    expect(next.records.map((r) => r.payload.toString())).toEqual(["b"]);
    await spool.remove(next);
    expect(segmentFiles(dir)).toEqual([]);
    await spool.close();
  });
});
