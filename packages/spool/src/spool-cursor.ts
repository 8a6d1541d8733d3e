import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";

/** Where draining resumes: the segment and the byte offset of its first record not yet drained. */
export interface SpoolCursor {
  segment: number;
  offset: number;
}

const CURSOR_FILE = "cursor";
// u32 CRC-32 of the rest, f64 segment, f64 offset.
const CURSOR_BYTES = 20;

function encode({ segment, offset }: SpoolCursor): Buffer {
  const buffer = Buffer.alloc(CURSOR_BYTES);
  buffer.writeDoubleLE(segment, 4);
  buffer.writeDoubleLE(offset, 12);
  buffer.writeUInt32LE(crc32(buffer.subarray(4)), 0);
  return buffer;
}

/**
 * The drain position, rewritten in place after every drained batch. It is not fsynced: a cursor that
 * a crash sets back only makes the drainer enqueue some callbacks a second time (the worker's
 * de-duplication drops them), while an fsync per batch would cost the live traffic's disk. A cursor
 * that does not check out is ignored the same way: draining starts again from the oldest segment.
 */
export class CursorFile {
  private constructor(private readonly handle: FileHandle) {}

  /** The cursor last written, or null: none yet, or one a torn write made unreadable (`unreadable`). */
  static async open(dir: string): Promise<{ file: CursorFile; cursor: SpoolCursor | null; unreadable: boolean }> {
    const path = join(dir, CURSOR_FILE);
    const handle = await open(path, "r+").catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      return open(path, "w+");
    });
    const buffer = Buffer.alloc(CURSOR_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, CURSOR_BYTES, 0);
    const valid = bytesRead === CURSOR_BYTES && crc32(buffer.subarray(4)) === buffer.readUInt32LE(0);
    return {
      file: new CursorFile(handle),
      cursor: valid ? { segment: buffer.readDoubleLE(4), offset: buffer.readDoubleLE(12) } : null,
      unreadable: bytesRead > 0 && !valid,
    };
  }

  async write(cursor: SpoolCursor): Promise<void> {
    await this.handle.write(encode(cursor), 0, CURSOR_BYTES, 0);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
