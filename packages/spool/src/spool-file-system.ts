import { mkdir, open, readdir, readFile, rename, statfs, unlink, type FileHandle } from "node:fs/promises";

/**
 * The file-system calls the spool makes, in one place: what it does when the disk says no (ENOSPC
 * on a write, EIO on an fsync) is tested by passing calls that fail, on real files otherwise.
 */
export interface SpoolFileSystem {
  open(path: string, flags: string): Promise<FileHandle>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Bytes an unprivileged process can still write on the file system holding `path`. */
  freeBytes(path: string): Promise<number>;
}

export const nodeFileSystem: SpoolFileSystem = {
  open: (path, flags) => open(path, flags),
  readFile: (path) => readFile(path),
  rename,
  unlink,
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  readdir: (path) => readdir(path),
  freeBytes: async (path) => {
    const { bavail, bsize } = await statfs(path);
    return bavail * bsize;
  },
};

/** fsync of a directory: a new or renamed file's name is durable only once its directory is. */
export async function syncDirectory(fs: SpoolFileSystem, dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The disk is out of room (as opposed to failing): more room is what ends it. */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
