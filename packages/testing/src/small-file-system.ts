import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A file system of its own, a few hundred KB, that a test can fill up (full-disk tests). */
export interface SmallFileSystem {
  dir: string;
  kind: "tmpfs" | "ext4 loop file";
  /** Free and total bytes, as `df` would say. */
  usage(): { freeBytes: number; totalBytes: number };
  unmount(): Promise<void>;
}

const errorText = (error: unknown) => {
  const { stderr, message } = error as { stderr?: string; message: string };
  return (stderr?.trim() || message).split("\n")[0]!;
};

async function unmountDir(dir: string): Promise<void> {
  // A process killed a moment ago may still hold a file open: then detach it lazily.
  await run("umount", [dir]).catch(() => run("umount", ["-l", dir]));
}

/**
 * Mounts a tmpfs of `bytes` on a new directory, or, where tmpfs cannot be mounted, an ext4 file
 * system in a loop file. Both need root (CAP_SYS_ADMIN); rejects with why neither worked.
 */
export async function mountSmallFileSystem(bytes: number): Promise<SmallFileSystem> {
  const dir = mkdtempSync(join(tmpdir(), "yuju-small-fs-"));
  const usage = () => {
    const { bavail, blocks, bsize } = statfsSync(dir);
    return { freeBytes: bavail * bsize, totalBytes: blocks * bsize };
  };
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "yuju-test", dir]);
    return {
      dir,
      kind: "tmpfs",
      usage,
      async unmount() {
        await unmountDir(dir);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (tmpfsError) {
    const image = `${dir}.img`;
    try {
      await run("truncate", ["-s", String(bytes), image]);
      await run("mkfs.ext4", ["-q", "-F", "-O", "^has_journal", "-m", "0", "-b", "1024", image]);
      await run("mount", ["-o", "loop", image, dir]);
    } catch (loopError) {
      rmSync(image, { force: true });
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`tmpfs: ${errorText(tmpfsError)}; ext4 loop file: ${errorText(loopError)}`);
    }
    return {
      dir,
      kind: "ext4 loop file",
      usage,
      async unmount() {
        await unmountDir(dir);
        rmSync(image, { force: true });
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/**
 * Null when this machine lets a test mount a small file system, else why not: for a test file to
 * skip its full-disk tests with that reason (CI containers are often not root).
 */
export async function smallFileSystemUnavailable(): Promise<string | null> {
  try {
    const probe = await mountSmallFileSystem(64 * 1024);
    await probe.unmount();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
