import { mkdtempSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnApp, TEST_SIGNING_SECRET } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";

async function relay(args: string[], env: Record<string, string>) {
  const child = spawnApp("apps/cli/src/main.ts", env, args);
  const code = await child.exited;
  return { code, output: child.logs.map((l) => String(l.msg)).join("\n") };
}

const dir = mkdtempSync(join(tmpdir(), "relay-keys-"));
const file = join(dir, "relay.yaml");
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
writeFileSync(
  file,
  `destinations:
  - name: crm
    url: https://crm.example.com/in
    secret: \${CRM_SECRET}
    previousSecrets:
      - secret: \${CRM_SECRET_OLD}
        until: ${inDays(90)}
  - name: signed
    url: https://signed.example.com/in
    secret: \${SIGNED_KEY}
    signing: ed25519
    previousSecrets:
      - secret: \${SIGNED_KEY_OLD}
        until: 2026-01-01T00:00:00Z
`,
);
const ED_KEY = `whsk_${randomBytes(32).toString("base64")}`;
const env = {
  RELAY_CONFIG: file,
  CRM_SECRET: TEST_SIGNING_SECRET,
  CRM_SECRET_OLD: TEST_SIGNING_SECRET,
  SIGNED_KEY: ED_KEY,
  SIGNED_KEY_OLD: `whsk_${randomBytes(32).toString("base64")}`,
};

describe("relay keys public (real child process)", () => {
  it("prints only the public key of an ed25519 destination, reading only that destination's secret", async () => {
    const { code, output } = await relay(["keys", "public", "signed"], { RELAY_CONFIG: file, SIGNED_KEY: ED_KEY });
    expect(code).toBe(0);
    expect(output).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    // Its previous key is past its until: not offered.
    expect(output).not.toMatch(/previous key/);
  });

  it("exits 64 for an hmac destination", async () => {
    expect(await relay(["keys", "public", "crm"], env)).toMatchObject({
      code: 64,
      output: expect.stringMatching(/crm signs with hmac-sha256: .*no public key/),
    });
  });

  it("exits 1 for an unknown destination, naming the known ones", async () => {
    expect(await relay(["keys", "public", "nope"], env)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/unknown destination nope \(crm, signed\)/),
    });
  });

  it("exits 78 for a key set both as a variable and as a file", async () => {
    const twice = await relay(["keys", "public", "signed"], { ...env, SIGNED_KEY_FILE: file });
    expect(twice.code).toBe(78);
    expect(twice.output).toMatch(/SIGNED_KEY and SIGNED_KEY_FILE are both set/);
    expect(twice.output).not.toContain(ED_KEY.slice(5));
  });
});

describe("relay config check and previousSecrets", () => {
  it("warns about an until more than 30 days away and one already past, and stays valid", async () => {
    const { code, output } = await relay(["config", "check", file], env);
    expect(code).toBe(0);
    expect(output).toMatch(/warning: destinations\[0\]\.previousSecrets\[0\]\.until: .* is (89|90) days away/);
    expect(output).toMatch(
      /warning: destinations\[1\]\.previousSecrets\[0\]\.until: 2026-01-01T00:00:00\.000Z is past/,
    );
    expect(output).toMatch(/signed -> .*signed ed25519 \(v1a\)/);
  });
});
