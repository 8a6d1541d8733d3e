import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

// `pnpm test:compose` runs all of this for real on Docker; these catch a regression without it.
describe("docker compose defaults (what `cp .env.example .env && docker compose up -d` does)", () => {
  const compose = read("docker-compose.yml");

  it("logs events while FORWARD_URL is empty, instead of sending them to a demo receiver that may not run", () => {
    expect(read(".env.example")).toMatch(/^FORWARD_URL=$/m);
    expect(compose).toMatch(/^\s+FORWARD_URL: \$\{FORWARD_URL:-\}$/m);
  });

  it("keeps the number of workers in configuration, so that every `up` keeps it", () => {
    expect(compose).toMatch(/^\s+replicas: \$\{WORKERS:-2\}$/m);
    expect(compose).not.toMatch(/^\s+replicas: \d+$/m);
  });

  it("names no image of its own: compose names them after the project", () => {
    const images = [...compose.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]);
    expect(images).toEqual(["redis:7"]);
  });

  it("keeps the ingress's spool on a named volume of its own, where SPOOL_DIR points", () => {
    expect(compose).toMatch(/^\s+SPOOL_DIR: \/var\/lib\/yuju\/spool$/m);
    expect(compose).toMatch(/^\s+- ingress-spool:\/var\/lib\/yuju\/spool$/m);
    expect(compose).toMatch(/^ {2}ingress-spool:$/m);
    // The image creates the mount point owned by `node`, so that a new volume is writable by the app.
    expect(read("Dockerfile")).toMatch(/mkdir -p \/var\/lib\/yuju\/spool && chown node:node \/var\/lib\/yuju\/spool/);
  });
});
