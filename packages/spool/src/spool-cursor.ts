import { join } from "node:path";
import { crc32 } from "node:zlib";
import { syncDirectory, type SpoolFileSystem } from "./spool-file-system.ts";

/** Where draining resumes: the segment and the byte offset of its first record not yet drained. */
export interface SpoolCursor {
  segment: number;
  offset: number;
}

const CURSOR_FILE = "cursor";
const CURSOR_TEMP_FILE = "cursor.tmp";
// u32 CRC-32 of the rest, f64 segment, f64 offset.
const CURSOR_BYTES = 20;

function encode({ segment, offset }: SpoolCursor): Buffer {
  const buffer = Buffer.alloc(CURSOR_BYTES);
  buffer.writeDoubleLE(segment, 4);
  buffer.writeDoubleLE(offset, 12);
  buffer.writeUInt32LE(crc32(buffer.subarray(4)), 0);
  return buffer;
}

function decode(buffer: Buffer): SpoolCursor | null {
  if (buffer.length !== CURSOR_BYTES || crc32(buffer.subarray(4)) !== buffer.readUInt32LE(0)) return null;
  return { segment: buffer.readDoubleLE(4), offset: buffer.readDoubleLE(12) };
}

/** What was found at start: a cursor, none (a new spool, or one never drained), or one that does not check out. */
export type CursorRead =
  { found: "valid"; cursor: SpoolCursor } | { found: "missing" } | { found: "unreadable"; reason: string };

/**
 * The drain position, replaced whole after every drained batch: written to a temporary file,
 * fsynced, renamed over the old one, and the directory fsynced. A write that fails (a full disk)
 * leaves the old cursor as it was, never a half-written one: rewriting the file in place on a full
 * disk once left it empty, and the spool could not say where it stood.
 *
 * A cursor behind the truth (a failed write, a crash) only makes the drainer enqueue some callbacks
 * a second time, which the worker's de-duplication drops; so a missing or unreadable cursor means
 * draining from the oldest segment, never refusing to start.
 */
export class CursorFile {
  constructor(
    private readonly fs: SpoolFileSystem,
    private readonly dir: string,
  ) {}

  async read(): Promise<CursorRead> {
    // A crash between the temporary file's creation and its rename leaves it: it was never the cursor.
    await this.fs.unlink(join(this.dir, CURSOR_TEMP_FILE)).catch(() => {});
    let buffer: Buffer;
    try {
      buffer = await this.fs.readFile(join(this.dir, CURSOR_FILE));
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      return code === "ENOENT" ? { found: "missing" } : { found: "unreadable", reason: message };
    }
    const cursor = decode(buffer);
    return cursor
      ? { found: "valid", cursor }
      : { found: "unreadable", reason: `${buffer.length} bytes that are not a cursor` };
  }

  async write(cursor: SpoolCursor): Promise<void> {
    const temp = join(this.dir, CURSOR_TEMP_FILE);
    try {
      const handle = await this.fs.open(temp, "w");
      try {
        const data = encode(cursor);
        const { bytesWritten } = await handle.write(data, 0, data.length, 0);
        if (bytesWritten !== data.length) throw new Error(`cursor cut short (${bytesWritten} bytes written)`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await this.fs.rename(temp, join(this.dir, CURSOR_FILE));
    } catch (error) {
      await this.fs.unlink(temp).catch(() => {});
      throw error;
    }
    await syncDirectory(this.fs, this.dir);
  }
}
