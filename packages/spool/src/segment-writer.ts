import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
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

/** fsync of the directory: a new file's name is durable only once its directory is. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Appends groups of encoded records to the newest segment, each group with one write and one
 * fdatasync, and starts a new segment when the current one has reached `segmentBytes`. A segment
 * whose write or fsync failed is left behind: after a failed fsync Linux may have dropped the dirty
 * pages, so nothing written to that file afterwards could be trusted. Its earlier records stay
 * readable; the next group goes to a new segment.
 */
export class SegmentWriter {
  private current: { segment: number; handle: FileHandle; size: number } | null = null;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private nextSegment: number,
  ) {}

  /** The segment being appended to, if any: it must not be deleted once drained. */
  get currentSegment(): number | null {
    return this.current?.segment ?? null;
  }

  /** The number the next new segment will get. */
  get upcomingSegment(): number {
    return this.nextSegment;
  }

  async write(records: Buffer[]): Promise<WrittenGroup> {
    if (!this.current || this.current.size >= this.segmentBytes) await this.roll();
    const current = this.current!;
    const data = records.length === 1 ? records[0]! : Buffer.concat(records);
    try {
      await writeAll(current.handle, data, current.size);
      await current.handle.datasync();
    } catch (error) {
      await this.retire();
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

  private async roll(): Promise<void> {
    await this.retire();
    const segment = this.nextSegment++;
    const handle = await open(join(this.dir, segmentFileName(segment)), "wx");
    try {
      await writeAll(handle, SEGMENT_MAGIC, 0);
      await handle.datasync();
      await syncDirectory(this.dir);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    this.current = { segment, handle, size: SEGMENT_HEADER_BYTES };
  }
}
