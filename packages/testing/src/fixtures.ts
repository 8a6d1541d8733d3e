import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface Fixture {
  name: string;
  body: Record<string, unknown>;
  raw: string;
}

/**
 * The repository's own copies of the platform's example bodies and of its documentation's sample
 * requests (packages/protocol/fixtures and seeds): the wire contract's evidence lives with the code
 * that parses it, so a bare clone tests itself.
 */
const protocolDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../protocol");
export const fixturesDir = join(protocolDir, "fixtures");
export const seedsDir = join(protocolDir, "seeds");

/** Every example body in packages/protocol/fixtures (and fixtures/assumed), by file name. */
export function loadFixtures(): Fixture[] {
  const root = fixturesDir;
  const files = [
    ...readdirSync(root).map((f) => join(root, f)),
    ...readdirSync(join(root, "assumed")).map((f) => join(root, "assumed", f)),
  ].filter((f) => f.endsWith(".json"));
  return files.sort().map((file) => {
    const raw = readFileSync(file, "utf8");
    return {
      name: file.slice(root.length + 1).replace(/\.json$/, ""),
      raw,
      body: JSON.parse(raw) as Record<string, unknown>,
    };
  });
}

export interface SeedExample {
  name: "message" | "member-leave";
  method: string;
  path: string;
  /** The body exactly as the seed's curl sends it. */
  raw: string;
}

/** The seeds' own sample requests, read from their curl lines (`--request X 'url' ... --data-raw '...'`). */
export function loadSeedExamples(): SeedExample[] {
  const seeds: Array<[SeedExample["name"], string]> = [
    ["message", "message-callback.txt"],
    ["member-leave", "member-leave-callback.txt"],
  ];
  return seeds.map(([name, file]) => {
    const text = readFileSync(join(seedsDir, file), "utf8");
    const curl = /curl --location --request (\w+) '([^']+)'[\s\S]*?--data-raw '([\s\S]*?)'/.exec(text);
    if (!curl) throw new Error(`no curl example found in seeds/${file}`);
    const [, method, url, raw] = curl as unknown as [string, string, string, string];
    return { name, method, path: new URL(url).pathname, raw };
  });
}
