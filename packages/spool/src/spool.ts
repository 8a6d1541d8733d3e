import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@yuju-relay/logging";
import { createGroupCommit } from "./group-commit.ts";
import { SegmentWriter, type WrittenGroup } from "./segment-writer.ts";
import { CursorFile, type SpoolCursor } from "./spool-cursor.ts";
import { isOutOfSpace, nodeFileSystem, type SpoolFileSystem } from "./spool-file-system.ts";
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
  /**
   * After the disk refused a write: how long before the next try, and how old a reading of the
   * free space may be. Default: 1 s.
   */
  spaceCheckIntervalMs?: number;
  /** The file-system calls (tests pass calls that fail). Default: node:fs. */
  fileSystem?: SpoolFileSystem;
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
  /**
   * The disk refused the last write, none has succeeded since, and (when it was for want of room)
   * the free space has not come back since.
   */
  failing: boolean;
  /** Free bytes on the spool's file system, as last read (null before the first reading, or when it failed). */
  freeBytes: number | null;
}

interface Segment extends RecoveredSegment {
  reader: Promise<FileHandle> | null;
}

const MIN_SEGMENT_BYTES = 64 * 1024;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * Free space under which a disk that refused a write for want of room is still taken as full:
 * room for a segment header, its directory entry and a few ordinary callbacks, with the file
 * system's own blocks to spare.
 */
const ROOM_BYTES = 64 * 1024;

interface WriteFailure {
  error: string;
  /** ENOSPC or EDQUOT: free space ends it. Anything else (EIO): only a write that succeeds. */
  outOfSpace: boolean;
  /** When the last write was tried and failed: the next try waits for the check interval. */
  at: number;
}

/**
 * A local, append-only, durable FIFO of records: what the ingress keeps while Redis cannot take
 * callbacks. `append` resolves once the record is on disk (fdatasync; the appends of one turn of
 * the event loop share one); `peek` and `remove` take records from the head, in order, and a record
 * is removed only once the consumer says it has it. It survives a restart: `open` finds what was
 * left, skips a torn last record, and resumes at the drain cursor.
 *
 * A full disk (or a failing one) is a state it leaves by itself: a write that fails leaves no file
 * and no partial record behind, a drained segment is deleted at once, and once the disk has room
 * again (the drain freed it, or an operator did) the next append is written. While it has none,
 * appends are refused without touching the disk, and the free space is read at most once per
 * check interval, not per append.
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
  private failure: WriteFailure | null = null;
  /** Counts failures: a free-space reading started before the latest one says nothing about it. */
  private failures = 0;
  private space: { bytes: number | null; at: number; failures: number } = { bytes: null, at: 0, failures: 0 };
  private spaceReading: Promise<number | null> | null = null;
  private cursorFailing = false;
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
    private readonly fs: SpoolFileSystem,
    private readonly spaceCheckIntervalMs: number,
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

  static async open({
    dir,
    maxBytes,
    logger,
    segmentBytes,
    spaceCheckIntervalMs = 1_000,
    fileSystem: fs = nodeFileSystem,
  }: SpoolOptions): Promise<Spool> {
    await fs.mkdir(dir);
    const cursor = new CursorFile(fs, dir);
    const read = await cursor.read();
    const { segments, nextSegment } = await recoverSegments(fs, dir, read, logger);
    const size = segmentBytes ?? Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(maxBytes / 8)));
    const spool = new Spool(
      dir,
      maxBytes,
      logger,
      fs,
      spaceCheckIntervalMs,
      segments.map((s) => ({ ...s, reader: null })),
      new SegmentWriter(fs, dir, size, nextSegment),
      cursor,
    );
    if (spool.records > 0) {
      logger.warn({ dir, records: spool.records, bytes: spool.bytes }, "spool holds records from before the restart");
    }
    // A new spool gets its cursor before its first record: from then on, a missing one is news.
    if (read.found === "missing" && segments.length === 0) await spool.recordPosition({ segment: 0, offset: 0 });
    const freeBytes = await spool.freeBytes();
    // What the spool holds already is room it has: the limit is reached first if it fits in both.
    if (freeBytes !== null && maxBytes > freeBytes + spool.bytes) {
      logger.warn(
        { dir, maxBytes, freeBytes, spooledBytes: spool.bytes },
        "spool: SPOOL_MAX_BYTES is larger than the free space on its disk: a long outage fills the disk first, and callbacks get 503 from then on",
      );
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
      failing: this.failure !== null,
      freeBytes: this.space.bytes,
    };
  }

  /**
   * Free bytes on the spool's file system: read with statfs at most once per check interval (more
   * often only after a failure, or after the spool deleted files), null if it cannot be read. A
   * reading that finds room again after the disk was full ends the failing state.
   */
  freeBytes(): Promise<number | null> {
    const { space } = this;
    if (space.at > 0 && space.failures === this.failures && Date.now() - space.at < this.spaceCheckIntervalMs) {
      return Promise.resolve(space.bytes);
    }
    return (this.spaceReading ??= this.readFreeBytes().finally(() => (this.spaceReading = null)));
  }

  /** Resolves once the record is durable, or says why it is not spooled (nothing is kept then). */
  async append(payload: string): Promise<AppendOutcome> {
    if (this.closed) return { spooled: false, reason: "closed", error: "the spool is closed" };
    if (this.failure) {
      const refusal = await this.refusalWhileFailing();
      if (refusal) return { spooled: false, reason: "failed", error: refusal };
      if (this.closed) return { spooled: false, reason: "closed", error: "the spool is closed" };
    }
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
      if (this.failure) {
        this.failure = null;
        this.logger.info({ dir: this.dir }, "spool: the disk takes writes again");
      }
      return { spooled: true };
    } catch (error) {
      this.noteFailure(error);
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
    await this.deleteDrainedHead();
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

  /**
   * Removes a batch from `peek` once its consumer has it. Batches are removed in the order read. A
   * segment it finishes is deleted at once, then the drain position is recorded; the position not
   * recorded (a full disk) only means the batch may be drained again after a restart.
   */
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
    const position = { segment: head.segment, offset: head.start };
    if (!this.holdsRecords) await this.becomeEmpty();
    else await this.deleteDrainedHead();
    await this.recordPosition(position);
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
      const handle = await this.fs.open(this.pathOf(head.segment), "r");
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
    for (const wake of this.waitingForRecords.splice(0)) wake();
  }

  private async readFreeBytes(): Promise<number | null> {
    const failures = this.failures;
    const at = Date.now();
    const bytes = await this.fs.freeBytes(this.dir).catch(() => null);
    if (failures !== this.failures) return bytes;
    this.space = { bytes, at, failures };
    if (this.failure?.outOfSpace && bytes !== null && bytes >= ROOM_BYTES) {
      this.failure = null;
      this.logger.info({ dir: this.dir, freeBytes: bytes }, "spool: room on the disk again");
    }
    return bytes;
  }

  /**
   * Why an append is refused without trying, while the disk is refusing writes: a try is made at
   * most once per check interval, and after running out of room only once the free space is back.
   * Null: try.
   */
  private async refusalWhileFailing(): Promise<string | null> {
    const pending = () => {
      const failure = this.failure;
      return failure && Date.now() - failure.at < this.spaceCheckIntervalMs ? failure : null;
    };
    const early = pending();
    if (early) return `spool write failed (${early.error}); not tried again yet`;
    const freeBytes = await this.freeBytes();
    const failure = this.failure;
    if (!failure) return null;
    if (failure.outOfSpace) return `spool disk full (${freeBytes ?? "unknown"} bytes free): ${failure.error}`;
    // Failing for another reason: one append tries, those arriving meanwhile wait for its outcome.
    const late = pending();
    if (late) return `spool write failed (${late.error}); not tried again yet`;
    failure.at = Date.now();
    return null;
  }

  private noteFailure(error: unknown): void {
    const { code, message } = error as NodeJS.ErrnoException;
    const first = this.failure === null;
    this.failure = { error: message, outOfSpace: isOutOfSpace(error), at: Date.now() };
    this.failures += 1;
    if (first) {
      this.logger.error(
        { dir: this.dir, code, err: message },
        "spool: the disk refused a write: callbacks Redis cannot take get 503 until it takes writes again",
      );
    }
  }

  /** Files were deleted: the next append may find room, and reads the free space anew. */
  private spaceFreed(): void {
    this.space = { ...this.space, at: 0 };
    if (this.failure) this.failure.at = 0;
  }

  private async recordPosition(position: SpoolCursor): Promise<void> {
    try {
      await this.cursor.write(position);
    } catch (error) {
      // Once per spell: a full disk refuses every batch's.
      if (!this.cursorFailing) {
        this.logger.warn(
          { dir: this.dir, err: (error as Error).message },
          "spool: cannot record the drain position: after a restart, callbacks drained since would be enqueued again (the worker drops the copies)",
        );
      }
      this.cursorFailing = true;
      return;
    }
    if (this.cursorFailing) this.logger.info({ dir: this.dir }, "spool: drain position recorded again");
    this.cursorFailing = false;
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

  /**
   * Every record drained and none being written: the files go, the one being written too, and the
   * next append starts a new segment. Deleting before the cursor is recorded is safe: a segment
   * missing at start is one drained whole, and new segments get higher numbers than the cursor's.
   */
  private async becomeEmpty(): Promise<void> {
    // Said and reset before any await: an append arriving meanwhile starts a new spell, in a new segment.
    const seconds = this.spoolingSince === null ? 0 : (Date.now() - this.spoolingSince) / 1000;
    this.logger.info({ dir: this.dir, drained: this.drainedThisSpell, seconds }, "spool drained");
    this.spoolingSince = null;
    const segments = this.segments;
    this.segments = [];
    await this.writer.retire();
    for (const segment of segments) await this.deleteSegment(segment);
  }

  /**
   * Segments whose every record is drained are deleted. The one being appended to, when its records
   * are drained but more are being written: the writer moves to a new segment, and this one goes at
   * the next removal.
   */
  private async deleteDrainedHead(): Promise<void> {
    for (;;) {
      const head = this.segments[0];
      if (!head || head.start < head.end) return;
      if (head.segment === this.writer.currentSegment) {
        this.writer.rollBeforeNextWrite();
        return;
      }
      this.segments.shift();
      await this.deleteSegment(head);
    }
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    await this.closeReader(segment);
    await this.fs.unlink(this.pathOf(segment.segment)).catch((error: unknown) => {
      // It stays on disk; the next start finds it drained (the cursor, or re-drains it: duplicates only).
      this.logger.warn(
        { segment: this.pathOf(segment.segment), err: (error as Error).message },
        "spool: cannot delete a drained segment",
      );
    });
    this.spaceFreed();
  }

  private readerOf(segment: Segment): Promise<FileHandle> {
    return (segment.reader ??= this.fs.open(this.pathOf(segment.segment), "r"));
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
