import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory, type SpoolFileSystem } from "./spool-file-system.ts";
import { SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, segmentFileName } from "./spool-segment.ts";

/** Where a group of records landed: its segment and byte range. */
export interface WrittenGroup {
  segment: number;
  start: number;
  end: number;
}

async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

interface OpenSegment {
  segment: number;
  handle: FileHandle;
  /** Bytes durable in it: its header and every group whose fsync returned. */
  size: number;
}

/**
 * Appends groups of encoded records to the newest segment, each group with one write and one
 * fdatasync, and starts a new segment when the current one has reached `segmentBytes` (or when
 * told to, so that a drained segment can be deleted while appends go on).
 *
 * A group whose write or fsync failed (ENOSPC, EIO) leaves nothing behind: the segment is cut back
 * to its last durable record and that cut fsynced, so its records stay readable and no partial one
 * follows them; a segment that held no record yet, and a new segment whose header could not be
 * written, are deleted. The segment is then closed and the next group starts a new one: after a
 * failed fsync, Linux may have dropped the file's dirty pages, and a new file does not depend on
 * what it did with them.
 */
export class SegmentWriter {
  private current: OpenSegment | null = null;
  private rollPending = false;

  constructor(
    private readonly fs: SpoolFileSystem,
    private readonly dir: string,
    private readonly segmentBytes: number,
    private nextSegment: number,
  ) {}

  /** The segment being appended to, if any: it is deleted only once nothing appends to it. */
  get currentSegment(): number | null {
    return this.current?.segment ?? null;
  }

  /** The next group goes to a new segment, and the current one takes no more records. */
  rollBeforeNextWrite(): void {
    this.rollPending = true;
  }

  async write(records: Buffer[]): Promise<WrittenGroup> {
    if (!this.current || this.rollPending || this.current.size >= this.segmentBytes) await this.roll();
    const current = this.current!;
    const data = records.length === 1 ? records[0]! : Buffer.concat(records);
    try {
      await writeAll(current.handle, data, current.size);
      await current.handle.datasync();
    } catch (error) {
      await this.abandon(current);
      throw error;
    }
    const start = current.size;
    current.size += data.length;
    return { segment: current.segment, start, end: current.size };
  }

  /** Closes the current segment; the next write starts a new one. */
  async retire(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current?.handle.close().catch(() => {});
  }

  private async abandon(segment: OpenSegment): Promise<void> {
    this.current = null;
    const path = join(this.dir, segmentFileName(segment.segment));
    try {
      if (segment.size > SEGMENT_HEADER_BYTES) {
        await segment.handle.truncate(segment.size);
        await segment.handle.datasync();
      }
    } catch {
      // The disk refuses even that: the bytes after the last record stay, and the next start reads
      // the records up to them and logs the rest as damaged. None of them was acknowledged.
    } finally {
      await segment.handle.close().catch(() => {});
    }
    if (segment.size <= SEGMENT_HEADER_BYTES) await this.fs.unlink(path).catch(() => {});
  }

  private async roll(): Promise<void> {
    await this.retire();
    this.rollPending = false;
    const segment = this.nextSegment++;
    const path = join(this.dir, segmentFileName(segment));
    const handle = await this.fs.open(path, "wx");
    try {
      await writeAll(handle, SEGMENT_MAGIC, 0);
      await handle.datasync();
      await syncDirectory(this.fs, this.dir);
    } catch (error) {
      await handle.close().catch(() => {});
      await this.fs.unlink(path).catch(() => {});
      throw error;
    }
    this.current = { segment, handle, size: SEGMENT_HEADER_BYTES };
  }
}
