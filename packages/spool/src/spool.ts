import { mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@yuju-relay/logging";
import { createGroupCommit } from "./group-commit.ts";
import { SegmentWriter, type WrittenGroup } from "./segment-writer.ts";
import { CursorFile } from "./spool-cursor.ts";
import { encodeRecord, RECORD_HEADER_BYTES, type SpoolRecord } from "./spool-record.ts";
import { recoverSegments, type RecoveredSegment } from "./spool-recovery.ts";
import { readRecords, segmentFileName } from "./spool-segment.ts";

export interface SpoolOptions {
  dir: string;
  /** Most bytes of records held at once (what is being appended included); past it, appends are refused. */
  maxBytes: number;
  logger: Logger;
  /** Size past which a new segment file is started. Default: an eighth of maxBytes, within 64 KB and 64 MB. */
  segmentBytes?: number;
}

export type AppendOutcome = { spooled: true } | { spooled: false; reason: "full" | "failed" | "closed"; error: string };

/** Records read from the head of the spool, still in it until `remove`. */
export interface SpoolBatch {
  segment: number;
  records: SpoolRecord[];
}

export interface SpoolState {
  /** Durable records not yet drained, and their bytes on disk. */
  records: number;
  bytes: number;
  /** Records being written (their fsync has not returned). */
  appending: number;
  maxBytes: number;
  /** Records drained since this process opened the spool. */
  drained: number;
  /** Group commits (one write and one fdatasync each) since this process opened the spool. */
  commits: number;
  /** The last append was refused for want of room, and nothing has been drained since. */
  full: boolean;
  /** The last write failed (the disk refused it), and none has succeeded since. */
  failing: boolean;
}

interface Segment extends RecoveredSegment {
  reader: Promise<FileHandle> | null;
}

const MIN_SEGMENT_BYTES = 64 * 1024;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * A local, append-only, durable FIFO of records: what the ingress keeps while Redis cannot take
 * callbacks. `append` resolves once the record is on disk (fdatasync; the appends of one turn of
 * the event loop share one); `peek` and `remove` take records from the head, in order, and a record
 * is removed only once the consumer says it has it. It survives a restart: `open` finds what was
 * left, skips a torn last record, and resumes at the drain cursor.
 *
 * One process per directory: two would interleave their writes.
 */
export class Spool {
  private records = 0;
  private bytes = 0;
  private appendingRecords = 0;
  private appendingBytes = 0;
  private drained = 0;
  private commits = 0;
  private full = false;
  private failing = false;
  private closed = false;
  private spoolingSince: number | null = null;
  private drainedThisSpell = 0;
  private waitingForRecords: Array<() => void> = [];
  private whenIdle: (() => void) | null = null;
  private oldest: { key: string; acceptedAt: number } | null = null;
  private readonly commit: (record: Buffer) => Promise<void>;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly logger: Logger,
    private segments: Segment[],
    private readonly writer: SegmentWriter,
    private readonly cursor: CursorFile,
  ) {
    for (const segment of segments) {
      this.records += segment.records;
      this.bytes += segment.end - segment.start;
    }
    if (this.records > 0) this.startSpell(Date.now());
    this.commit = createGroupCommit((group: Buffer[]) => this.writeGroup(group));
  }

  static async open({ dir, maxBytes, logger, segmentBytes }: SpoolOptions): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    const { file, cursor, unreadable } = await CursorFile.open(dir);
    if (unreadable) {
      logger.warn(
        { dir },
        "spool: drain cursor unreadable: draining from the oldest segment (some may be enqueued twice)",
      );
    }
    const { segments, nextSegment } = await recoverSegments(dir, cursor, logger).catch(async (error: unknown) => {
      await file.close();
      throw error;
    });
    const size = segmentBytes ?? Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(maxBytes / 8)));
    const spool = new Spool(
      dir,
      maxBytes,
      logger,
      segments.map((s) => ({ ...s, reader: null })),
      new SegmentWriter(dir, size, nextSegment),
      file,
    );
    if (spool.records > 0) {
      logger.warn({ dir, records: spool.records, bytes: spool.bytes }, "spool holds records from before the restart");
    }
    return spool;
  }

  /**
   * True while anything is spooled or being spooled. New records must then go in behind them, never
   * around them: that is what keeps the consumer's order the order of acceptance.
   */
  get holdsRecords(): boolean {
    return this.records + this.appendingRecords > 0;
  }

  get state(): SpoolState {
    return {
      records: this.records,
      bytes: this.bytes,
      appending: this.appendingRecords,
      maxBytes: this.maxBytes,
      drained: this.drained,
      commits: this.commits,
      full: this.full,
      failing: this.failing,
    };
  }

  /** Resolves once the record is durable, or says why it is not spooled (nothing is kept then). */
  async append(payload: string): Promise<AppendOutcome> {
    if (this.closed) return { spooled: false, reason: "closed", error: "the spool is closed" };
    const record = encodeRecord(Date.now(), payload);
    const held = this.bytes + this.appendingBytes;
    if (held + record.length > this.maxBytes) {
      this.full = true;
      return {
        spooled: false,
        reason: "full",
        error: `spool full: ${held} bytes held, ${record.length} more would pass SPOOL_MAX_BYTES (${this.maxBytes})`,
      };
    }
    if (!this.holdsRecords) this.startSpell(Date.now());
    this.appendingRecords += 1;
    this.appendingBytes += record.length;
    try {
      await this.commit(record);
      this.failing = false;
      return { spooled: true };
    } catch (error) {
      this.failing = true;
      return { spooled: false, reason: "failed", error: `spool write failed: ${(error as Error).message}` };
    } finally {
      this.appendingRecords -= 1;
      this.appendingBytes -= record.length;
      if (this.appendingRecords === 0) this.whenIdle?.();
    }
  }

  /** Resolves as soon as durable records are waiting to be drained. */
  whenRecords(): Promise<void> {
    if (this.records > 0) return Promise.resolve();
    return new Promise((resolve) => this.waitingForRecords.push(resolve));
  }

  /** Up to `maxRecords` records (and about `maxBytes`) from the head, oldest first, without removing them. */
  async peek(maxRecords: number, maxBytes: number): Promise<SpoolBatch | null> {
    await this.dropDrainedHead();
    const head = this.segments[0];
    if (!head || head.start >= head.end) return null;
    const read = await readRecords(await this.readerOf(head), head.start, head.end, { maxRecords, maxBytes });
    if (read.damaged) {
      // These bytes were fsynced by this process or checked at start: only a disk fault gets here.
      const lost = head.records - read.records.length;
      this.logger.error(
        { segment: this.pathOf(head.segment), offset: read.next, lost, reason: read.damaged.reason },
        "spool: damaged record: the rest of this segment cannot be read",
      );
      this.records -= lost;
      this.bytes -= head.end - read.next;
      head.records = read.records.length;
      head.end = read.next;
    }
    return read.records.length > 0 ? { segment: head.segment, records: read.records } : null;
  }

  /** Removes a batch from `peek` once its consumer has it. Batches are removed in the order read. */
  async remove(batch: SpoolBatch): Promise<void> {
    const head = this.segments[0];
    const first = batch.records[0];
    const last = batch.records.at(-1);
    if (!head || !first || !last || head.segment !== batch.segment || head.start !== first.position) {
      throw new Error("spool: batches must be removed in the order they were read");
    }
    this.bytes -= last.next - head.start;
    head.start = last.next;
    head.records -= batch.records.length;
    this.records -= batch.records.length;
    this.drained += batch.records.length;
    this.drainedThisSpell += batch.records.length;
    this.full = false;
    await this.cursor.write({ segment: head.segment, offset: head.start });
    if (!this.holdsRecords) await this.becomeEmpty();
  }

  /**
   * When the oldest record still spooled was accepted (ms since epoch), or null when none is. For
   * metrics and /readyz: it reads the record's header with a handle of its own, so that it never
   * races the drainer, and answers null if the segment went away meanwhile (just drained).
   */
  async oldestAcceptedAt(): Promise<number | null> {
    const head = this.segments.find((s) => s.start < s.end);
    if (!head) return null;
    const key = `${head.segment}:${head.start}`;
    if (this.oldest?.key === key) return this.oldest.acceptedAt;
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    try {
      const handle = await open(this.pathOf(head.segment), "r");
      try {
        await handle.read(header, 0, RECORD_HEADER_BYTES, head.start);
      } finally {
        await handle.close();
      }
    } catch {
      return null;
    }
    this.oldest = { key, acceptedAt: header.readDoubleLE(8) };
    return this.oldest.acceptedAt;
  }

  /** Refuses new appends, waits for those being written, and closes the files. The records stay. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.appendingRecords > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    await this.writer.retire();
    for (const segment of this.segments) await this.closeReader(segment);
    await this.cursor.close();
    for (const wake of this.waitingForRecords.splice(0)) wake();
  }

  private async writeGroup(group: Buffer[]): Promise<void> {
    const written: WrittenGroup = await this.writer.write(group);
    this.commits += 1;
    const last = this.segments.at(-1);
    if (last?.segment === written.segment) {
      last.end = written.end;
      last.records += group.length;
    } else {
      this.segments.push({ ...written, records: group.length, reader: null });
    }
    this.records += group.length;
    this.bytes += written.end - written.start;
    for (const wake of this.waitingForRecords.splice(0)) wake();
  }

  private startSpell(at: number): void {
    this.spoolingSince = at;
    this.drainedThisSpell = 0;
    this.logger.warn({ dir: this.dir }, "spooling started");
  }

  /** Every record drained and none being written: the files go, and the next append starts afresh. */
  private async becomeEmpty(): Promise<void> {
    // Said and reset before any await: an append arriving meanwhile starts a new spell.
    const seconds = this.spoolingSince === null ? 0 : (Date.now() - this.spoolingSince) / 1000;
    this.logger.info({ dir: this.dir, drained: this.drainedThisSpell, seconds }, "spool drained");
    this.spoolingSince = null;
    const segments = this.segments;
    this.segments = [];
    const next = this.writer.upcomingSegment;
    await this.writer.retire();
    // The cursor first: should the process die between the two, the next start deletes what the
    // cursor says is drained.
    await this.cursor.write({ segment: next, offset: 0 });
    for (const segment of segments) {
      await this.closeReader(segment);
      await unlink(this.pathOf(segment.segment)).catch(() => {});
    }
  }

  /** Fully drained segments that nothing will append to any more are deleted. */
  private async dropDrainedHead(): Promise<void> {
    for (;;) {
      const head = this.segments[0];
      if (!head || head.start < head.end || head.segment === this.writer.currentSegment) return;
      this.segments.shift();
      await this.closeReader(head);
      await unlink(this.pathOf(head.segment)).catch(() => {});
    }
  }

  private readerOf(segment: Segment): Promise<FileHandle> {
    return (segment.reader ??= open(this.pathOf(segment.segment), "r"));
  }

  private async closeReader(segment: Segment): Promise<void> {
    const reader = segment.reader;
    segment.reader = null;
    if (reader) await (await reader).close().catch(() => {});
  }

  private pathOf(segment: number): string {
    return join(this.dir, segmentFileName(segment));
  }
}
