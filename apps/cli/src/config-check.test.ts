import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnApp } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const example = new URL("../../../relay.example.yaml", import.meta.url).pathname;
const secrets = {
  CRM_WEBHOOK_SECRET: SECRET,
  TICKETS_WEBHOOK_SECRET: SECRET,
  ARCHIVE_WEBHOOK_SECRET: SECRET,
  ASSISTANT_WEBHOOK_SECRET: SECRET,
};

/** `relay …` as a real child process, as `pnpm relay …` runs it. */
async function relay(args: string[], env: Record<string, string> = {}) {
  const child = spawnApp("apps/cli/src/main.ts", env, args);
  const code = await child.exited;
  return { code, output: child.logs.map((l) => String(l.msg)).join("\n") };
}

describe("relay config check (real child process)", () => {
  it("accepts relay.example.yaml, summarizing each destination without its secret", async () => {
    const { code, output } = await relay(["config", "check", example], secrets);
    expect(code).toBe(0);
    expect(output).toMatch(/valid, 4 destinations/);
    expect(output).toMatch(/crm -> https:\/\/crm\.example\.com\/hooks\/wecom: message\.received; filter on isSelf/);
    expect(output).not.toContain(SECRET);
  });

  it("says which destinations are ordered per conversation, and what a failure does there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-cli-"));
    const file = join(dir, "relay.yaml");
    writeFileSync(
      file,
      "destinations:\n  - name: assistant\n    url: https://ai.example.com/in\n    secret: ${AI_SECRET}\n    ordering: per-conversation\n    onFailure: block\n  - name: archive\n    url: https://archive.example.com/in\n    secret: ${AI_SECRET}\n",
    );
    const { code, output } = await relay(["config", "check", file], { AI_SECRET: SECRET });
    expect(code).toBe(0);
    expect(output).toMatch(/assistant -> .*; ordered per conversation \(onFailure: block\)/);
    expect(output).not.toMatch(/archive -> .*ordered/);
  });

  it("exits 78 naming the path of each problem, and the missing variables", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-cli-"));
    const file = join(dir, "relay.yaml");
    writeFileSync(
      file,
      "destinations:\n  - name: crm\n    url: https://crm.example.com\n    secret: ${CRM_SECRET}\n    filter:\n      kinds: [txt]\n",
    );
    const { code, output } = await relay(["config", "check", file]);
    expect(code).toBe(78);
    expect(output).toMatch(/destinations\[0\]\.filter\.kinds\[0\]: unknown kind "txt"/);
    expect(output).toMatch(/destinations\[0\]\.secret: environment variable CRM_SECRET is not set/);
  });

  it("with --no-env checks a file without its secrets' variables", async () => {
    const { code, output } = await relay(["config", "check", "--no-env", example]);
    expect(code).toBe(0);
    expect(output).toMatch(/crm\n\s+tickets\n\s+archive/);
  });

  it("answers a misuse with its usage and exit 64", async () => {
    const { code, output } = await relay(["config", "check"]);
    expect(code).toBe(64);
    expect(output).toMatch(/missing required argument 'file'/);
  });
});
