import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@yuju-relay/logging";
import type { CursorRead } from "./spool-cursor.ts";
import type { SpoolFileSystem } from "./spool-file-system.ts";
import { listSegments, readRecords, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, segmentFileName } from "./spool-segment.ts";

/** A segment with records not yet drained: [start, end) holds `records` whole, checksummed records. */
export interface RecoveredSegment {
  segment: number;
  start: number;
  end: number;
  records: number;
}

const SCAN_BATCH = { maxRecords: 100_000, maxBytes: 4 * 1024 * 1024 };

async function countRecords(handle: FileHandle, from: number, size: number) {
  let records = 0;
  let position = from;
  for (;;) {
    const read = await readRecords(handle, position, size, SCAN_BATCH);
    records += read.records.length;
    position = read.next;
    if (read.damaged || position >= size) return { records, end: position, damaged: read.damaged };
  }
}

/**
 * Reads what a previous run left: deletes segments already drained (the cursor is past them), and
 * checks every record of the others. Without a cursor to trust (missing, or unreadable), every
 * segment is drained from its start, and that is logged: callbacks drained before may be enqueued
 * again, which the worker's de-duplication absorbs. A record cut short at the end of the newest segment is what a
 * crash during a write leaves; that write was never fsynced, so its callbacks were never
 * acknowledged: it is cut off the file and logged. Damage anywhere else is a disk fault: the records
 * before it are kept, the rest of that segment cannot be read, and that is logged as an error.
 */
export async function recoverSegments(
  fs: SpoolFileSystem,
  dir: string,
  read: CursorRead,
  logger: Logger,
): Promise<{ segments: RecoveredSegment[]; nextSegment: number }> {
  const numbers = await listSegments(fs, dir);
  const cursor = read.found === "valid" ? read.cursor : null;
  if (numbers.length > 0 && read.found === "unreadable") {
    logger.warn(
      { dir, reason: read.reason },
      "spool: drain cursor unreadable: draining from the oldest segment (some callbacks may be enqueued twice)",
    );
  } else if (numbers.length > 0 && read.found === "missing") {
    logger.warn(
      { dir },
      "spool: no drain cursor: draining from the oldest segment (some callbacks may be enqueued twice)",
    );
  }
  const segments: RecoveredSegment[] = [];
  const newest = numbers.at(-1);
  for (const segment of numbers) {
    const path = join(dir, segmentFileName(segment));
    if (cursor && segment < cursor.segment) {
      await fs.unlink(path);
      continue;
    }
    const handle = await fs.open(path, "r+");
    let kept: RecoveredSegment | null = null;
    try {
      const { size } = await handle.stat();
      const magic = Buffer.alloc(SEGMENT_HEADER_BYTES);
      await handle.read(magic, 0, SEGMENT_HEADER_BYTES, 0);
      if (size < SEGMENT_HEADER_BYTES || !magic.equals(SEGMENT_MAGIC)) {
        // Created as the process died, before its header was durable: nothing in it was acknowledged.
        logger.warn({ segment: path, bytes: size }, "spool: segment without a valid header removed");
      } else {
        const from = cursor?.segment === segment ? Math.max(cursor.offset, SEGMENT_HEADER_BYTES) : SEGMENT_HEADER_BYTES;
        const { records, end, damaged } = await countRecords(handle, from, size);
        if (damaged && segment === newest) {
          logger.warn(
            { segment: path, offset: end, bytes: size - end, reason: damaged.reason },
            "spool: torn record at the end of the spool skipped (a write cut short by a crash, never acknowledged)",
          );
          await handle.truncate(end);
        } else if (damaged) {
          logger.error(
            { segment: path, offset: end, bytes: size - end, reason: damaged.reason, recordsKept: records },
            "spool: damaged record in the middle of the spool: the rest of this segment cannot be read",
          );
        }
        if (records > 0) kept = { segment, start: from, end, records };
      }
    } finally {
      await handle.close();
    }
    if (kept) segments.push(kept);
    else await fs.unlink(path);
  }
  // Numbers only grow, even once every file is gone: a new segment must never get the number the
  // cursor names, whose offset is about the segment drained and deleted.
  return { segments, nextSegment: Math.max((newest ?? 0) + 1, (cursor?.segment ?? 0) + 1) };
}
