import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Spool, type SpoolOptions } from "./spool.ts";

/** A real logger whose JSON lines the test can read. */
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

const freshDir = () => mkdtempSync(join(tmpdir(), "yuju-spool-test-"));
const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".spool"));

async function openSpool(dir: string, options: Partial<SpoolOptions> = {}) {
  const log = recordingLogger();
  const spool = await Spool.open({ dir, maxBytes: 10 * 1024 * 1024, logger: log.logger, ...options });
  return { spool, lines: log.lines };
}

/** Takes everything from the spool, batch by batch, as the drainer does. */
async function drainAll(spool: Spool, batchSize = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.peek(batchSize, 1024 * 1024);
    if (!batch) return out;
    out.push(...batch.records.map((r) => r.payload.toString("utf8")));
    await spool.remove(batch);
  }
}

const payloads = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ body: { data: { messageId: `m-${from + i}` } } }));

describe("spool (real files)", () => {
  it("gives records back in the order they were appended, and deletes its files once drained", async () => {
    const dir = freshDir();
    const { spool, lines } = await openSpool(dir);
    expect(spool.holdsRecords).toBe(false);
    const written = payloads(40);
    const outcomes = await Promise.all(written.map((p) => spool.append(p)));
    expect(outcomes.every((o) => o.spooled)).toBe(true);
    expect(spool.holdsRecords).toBe(true);
    expect(spool.state).toMatchObject({ records: 40, appending: 0 });
    expect(await spool.oldestAcceptedAt()).toBeLessThanOrEqual(Date.now());
    expect(await drainAll(spool)).toEqual(written);
    expect(spool.holdsRecords).toBe(false);
    expect(spool.state).toMatchObject({ records: 0, bytes: 0, drained: 40 });
    expect(segmentFiles(dir)).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(["spooling started", "spool drained"]);
    await spool.close();
  });

  it("makes the appends of one turn of the event loop durable with one fsync", async () => {
    const { spool } = await openSpool(freshDir());
    await Promise.all(payloads(50).map((p) => spool.append(p)));
    expect(spool.state.commits).toBe(1);
    await spool.append(payloads(1)[0]!);
    expect(spool.state.commits).toBe(2);
    await spool.close();
  });

  it("keeps its records across a restart, and resumes after what was drained", async () => {
    const dir = freshDir();
    const first = await openSpool(dir);
    const written = payloads(30);
    for (const p of written) await first.spool.append(p);
    const batch = await first.spool.peek(12, 1024 * 1024);
    await first.spool.remove(batch!);
    await first.spool.close();

    const second = await openSpool(dir);
    expect(second.spool.state.records).toBe(18);
    expect(second.lines.some((l) => l.msg === "spool holds records from before the restart")).toBe(true);
    // New records go behind the old ones.
    await second.spool.append("after-restart");
    expect(await drainAll(second.spool)).toEqual([...written.slice(12), "after-restart"]);
    await second.spool.close();
  });

  it("rolls over to new segments and deletes each one drained, order kept across them", async () => {
    const dir = freshDir();
    const { spool } = await openSpool(dir, { segmentBytes: 1024 });
    const written = payloads(60);
    for (const p of written) await spool.append(p);
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    const firstHalf: string[] = [];
    while (firstHalf.length < 30) {
      const batch = await spool.peek(5, 1024 * 1024);
      firstHalf.push(...batch!.records.map((r) => r.payload.toString()));
      await spool.remove(batch!);
    }
    await spool.peek(1, 1024); // drops the segments drained so far
    const before = segmentFiles(dir).length;
    await spool.close();
    const reopened = await openSpool(dir, { segmentBytes: 1024 });
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(before);
    expect([...firstHalf, ...(await drainAll(reopened.spool))]).toEqual(written);
    await reopened.spool.close();
  });

  it("skips a torn last record after a crash, with a log line, and keeps the others", async () => {
    const dir = freshDir();
    const first = await openSpool(dir);
    const written = payloads(5);
    for (const p of written) await first.spool.append(p);
    await first.spool.close();
    // What a crash in the middle of the last write leaves: the record cut short.
    const [segment] = segmentFiles(dir);
    const path = join(dir, segment!);
    truncateSync(path, statSync(path).size - 7);

    const second = await openSpool(dir);
    const torn = second.lines.find((l) => /torn record/.test(l.msg));
    expect(torn).toMatchObject({ level: 40, bytes: Buffer.byteLength(written[4]!) + 16 - 7 });
    expect(second.spool.state.records).toBe(4);
    await second.spool.append("after-crash");
    await second.spool.close();

    // Cut off the file at the first start: the next start has nothing torn to report.
    const third = await openSpool(dir);
    expect(third.lines.some((l) => /torn record/.test(l.msg))).toBe(false);
    expect(await drainAll(third.spool)).toEqual([...written.slice(0, 4), "after-crash"]);
    await third.spool.close();
  });

  it("skips zeros left at the end by the file system, and a segment without a header", async () => {
    const dir = freshDir();
    const first = await openSpool(dir);
    await first.spool.append("kept");
    await first.spool.close();
    const [segment] = segmentFiles(dir);
    writeFileSync(join(dir, segment!), Buffer.concat([readFileSync(join(dir, segment!)), Buffer.alloc(4096)]));
    writeFileSync(join(dir, "0000000000000999.spool"), Buffer.from("YJS"));
    const second = await openSpool(dir);
    expect(second.lines.some((l) => /without a valid header/.test(l.msg))).toBe(true);
    expect(await drainAll(second.spool)).toEqual(["kept"]);
    await second.spool.close();
  });

  it("refuses appends past maxBytes, and takes them again once drained", async () => {
    const { spool } = await openSpool(freshDir(), { maxBytes: 1000 });
    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push(await spool.append("x".repeat(100)));
    const accepted = outcomes.filter((o) => o.spooled).length;
    expect(accepted).toBe(Math.floor(1000 / 116));
    expect(outcomes.at(-1)).toMatchObject({ spooled: false, reason: "full" });
    expect(spool.state).toMatchObject({ full: true, failing: false });
    expect(spool.state.bytes).toBeLessThanOrEqual(1000);
    await drainAll(spool);
    expect(spool.state.full).toBe(false);
    expect(await spool.append("x".repeat(100))).toEqual({ spooled: true });
    await spool.close();
  });

  it("refuses appends once closed, and finishes those in flight first", async () => {
    const dir = freshDir();
    const { spool } = await openSpool(dir);
    const inFlight = spool.append("in-flight");
    await spool.close();
    expect(await inFlight).toEqual({ spooled: true });
    expect(await spool.append("late")).toMatchObject({ spooled: false, reason: "closed" });
    const reopened = await openSpool(dir);
    expect(await drainAll(reopened.spool)).toEqual(["in-flight"]);
    await reopened.spool.close();
  });
});
