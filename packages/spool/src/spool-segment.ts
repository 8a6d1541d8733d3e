import type { FileHandle } from "node:fs/promises";
import type { SpoolFileSystem } from "./spool-file-system.ts";
import { decodeRecord, type SpoolRecord } from "./spool-record.ts";

/**
 * The spool is a series of segment files, numbered in the order they were created. Records are only
 * ever appended to the newest; a segment is deleted whole as soon as every record in it has been
 * drained. That keeps deletion an unlink instead of a rewrite.
 */
export const SEGMENT_MAGIC = Buffer.from("YJSPOOL1", "latin1");
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;

const SEGMENT_NAME = /^(\d{16})\.spool$/;

export function segmentFileName(sequence: number): string {
  return `${String(sequence).padStart(16, "0")}.spool`;
}

/** The segments in a spool directory, oldest first. Other files are not the spool's. */
export async function listSegments(fs: SpoolFileSystem, dir: string): Promise<number[]> {
  const names = await fs.readdir(dir);
  return names
    .map((name) => SEGMENT_NAME.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ReadOutcome {
  records: SpoolRecord[];
  /** Where reading stopped: the first byte not returned. */
  next: number;
  /** Bytes before `end` that are not a valid record (a torn write, or damage), from `next` on. */
  damaged: { reason: string } | null;
}

// Large enough that a drain batch of ordinary callbacks is one read, small enough to be a passing
// allocation.
const READ_CHUNK_BYTES = 256 * 1024;

async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * Reads the records of a segment from `from` up to `end`, at most `maxRecords` of them and about
 * `maxBytes` (a batch stops after the record that reaches it). Reading stops at the first bytes that
 * are not a whole, checksummed record, and says so.
 */
export async function readRecords(
  handle: FileHandle,
  from: number,
  end: number,
  { maxRecords, maxBytes }: { maxRecords: number; maxBytes: number },
): Promise<ReadOutcome> {
  const records: SpoolRecord[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let bufferStart = from;
  let position = from;
  let bytes = 0;
  while (position < end && records.length < maxRecords && bytes < maxBytes) {
    const decoded = decodeRecord(buffer, position - bufferStart);
    if (decoded.kind === "record") {
      records.push({
        acceptedAt: decoded.acceptedAt,
        payload: decoded.payload,
        position,
        next: position + decoded.length,
      });
      position += decoded.length;
      bytes += decoded.length;
      continue;
    }
    if (decoded.kind === "corrupt") return { records, next: position, damaged: { reason: decoded.reason } };
    const available = end - position;
    if (available < decoded.needed) {
      return { records, next: position, damaged: { reason: `record cut short (${available} bytes)` } };
    }
    buffer = await readFully(handle, Math.min(available, Math.max(decoded.needed, READ_CHUNK_BYTES)), position);
    bufferStart = position;
    if (buffer.length < decoded.needed) {
      return { records, next: position, damaged: { reason: `record cut short (${buffer.length} bytes)` } };
    }
  }
  return { records, next: position, damaged: null };
}
