import { crc32 } from "node:zlib";

/**
 * One spooled record on disk: a 16-byte header, then the payload.
 *
 *   u32 LE  payload length
 *   u32 LE  CRC-32 of the 8 bytes that follow and the payload
 *   f64 LE  when the record was accepted (ms since epoch)
 *   ...     payload (UTF-8 JSON)
 *
 * The length comes first so that a reader knows where the next record starts; the checksum covers
 * everything after it, so that a record cut short by a crash, or left as zeros by the file system,
 * is recognized instead of being read as a callback.
 */
export const RECORD_HEADER_BYTES = 16;

/**
 * Larger is corruption, not a record: the ingress refuses bodies over BODY_LIMIT (1 MB by default).
 * It keeps a damaged length field from making a reader allocate gigabytes.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export interface SpoolRecord {
  acceptedAt: number;
  payload: Buffer;
  /** Where the record starts in its segment, and where the next one does. */
  position: number;
  next: number;
}

export function encodeRecord(acceptedAt: number, payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.writeUInt32LE(length, 0);
  record.writeDoubleLE(acceptedAt, 8);
  record.write(payload, RECORD_HEADER_BYTES, "utf8");
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
  return record;
}

export type DecodedRecord =
  | { kind: "record"; acceptedAt: number; payload: Buffer; length: number }
  /** The buffer ends before the record does: read more (or, at the end of the file, a torn tail). */
  | { kind: "incomplete"; needed: number }
  | { kind: "corrupt"; reason: string };

/** Decodes the record starting at `offset` of `buffer`. The payload is a view into `buffer`. */
export function decodeRecord(buffer: Buffer, offset: number): DecodedRecord {
  if (buffer.length - offset < RECORD_HEADER_BYTES) {
    return { kind: "incomplete", needed: RECORD_HEADER_BYTES };
  }
  const length = buffer.readUInt32LE(offset);
  if (length === 0 || length > MAX_PAYLOAD_BYTES) return { kind: "corrupt", reason: `impossible length ${length}` };
  const total = RECORD_HEADER_BYTES + length;
  if (buffer.length - offset < total) return { kind: "incomplete", needed: total };
  const checked = buffer.subarray(offset + 8, offset + total);
  if (crc32(checked) !== buffer.readUInt32LE(offset + 4)) return { kind: "corrupt", reason: "checksum mismatch" };
  return {
    kind: "record",
    acceptedAt: buffer.readDoubleLE(offset + 8),
    payload: buffer.subarray(offset + RECORD_HEADER_BYTES, offset + total),
    length: total,
  };
}
