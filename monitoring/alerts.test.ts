import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const promtool = !spawnSync("promtool", ["--version"]).error;
// CI installs promtool (Debian's prometheus package, .ci/run): there, a missing one is a failure.
const skip = !promtool && !process.env.CI;
if (skip) process.stderr.write("promtool not found: skipping the alert rule tests (apt-get install prometheus)\n");

/**
 * The TypeScript sources under a folder, never entering node_modules: pnpm links workspace packages
 * into each other's node_modules, and a recursive readdir would follow those links round a cycle.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.isSymbolicLink()) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const run = (args: string[]) => execFileSync("promtool", args, { cwd: here, encoding: "utf8", stdio: "pipe" });

describe.skipIf(skip)("monitoring: the Prometheus alert rules and config", () => {
  it("pass their promtool unit tests (alerts.test.yml)", () => {
    expect(run(["test", "rules", "alerts.test.yml"])).toContain("SUCCESS");
  });

  it("prometheus.yml is valid and loads the rules", () => {
    expect(run(["check", "config", "prometheus.yml"])).toMatch(/SUCCESS: 1 rule files found/);
  });
});

describe("monitoring: alert rules and the metrics they use", () => {
  const rules = readFileSync(join(here, "alerts.yml"), "utf8");

  it("every alert has a promtool test", () => {
    const tests = readFileSync(join(here, "alerts.test.yml"), "utf8");
    const alerts = new Set([...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]));
    expect(alerts.size).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) expect(tests).toContain(`alertname: ${alert}`);
  });

  it("every metric an alert reads is one the apps export", () => {
    const sources = ["apps", "packages"].flatMap((dir) =>
      sourceFiles(join(root, dir)).map((f) => readFileSync(f, "utf8")),
    );
    const metrics = new Set(
      [...rules.matchAll(/\b(yuju_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(count|bucket|sum)$/, "")),
    );
    const missing = [...metrics].filter((metric) => !sources.some((s) => s.includes(`"${metric}"`)));
    expect(missing).toEqual([]);
  });
});
