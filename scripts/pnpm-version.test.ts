import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
const pinned = /^pnpm@(\d+\.\d+\.\d+)$/.exec(
  (JSON.parse(read("package.json")) as { packageManager: string }).packageManager,
)?.[1];

// A pnpm other than the pinned one tries to switch to it, and may refuse to run: every place that
// installs pnpm must install exactly the pinned version.
describe("pnpm version: the one package.json pins, everywhere pnpm is installed", () => {
  it("is pinned exactly", () => {
    expect(pinned).toBeDefined();
  });
  it.each([
    ["README.md", /npm install -g pnpm@(\S+)/g],
    [".ci/run", /pnpm@(\S+)/g],
    ["Dockerfile", /ARG PNPM_VERSION=(\S+)/g],
  ])("%s installs it", (file, pattern) => {
    const versions = [...read(file).matchAll(pattern)].map((m) => m[1]);
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([pinned]));
  });
});
