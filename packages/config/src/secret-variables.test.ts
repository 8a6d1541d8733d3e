import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./parse-env.ts";
import { parseRelayConfig } from "./relay-config-file.ts";

const dir = mkdtempSync(join(tmpdir(), "secret-files-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const shape = z.object({ CALLBACK_TOKEN: z.string().optional(), DASHBOARD_PASSWORD: z.string().min(8) });

function problems(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("secret variables from files (<NAME>_FILE)", () => {
  it("reads the file, ignoring one trailing newline and keeping everything else", () => {
    const env = parseEnv(shape, {
      CALLBACK_TOKEN_FILE: file("token", "tok-from-file\n"),
      DASHBOARD_PASSWORD_FILE: file("password", "  pass word \n\n"),
    });
    expect(env.CALLBACK_TOKEN).toBe("tok-from-file");
    expect(env.DASHBOARD_PASSWORD).toBe("  pass word \n");
  });

  it("refuses a variable set together with its file, naming both and never the value", () => {
    const found = problems(() =>
      parseEnv(shape, {
        DASHBOARD_PASSWORD: "hunter2-hunter2",
        DASHBOARD_PASSWORD_FILE: file("pw2", "other-password\n"),
      }),
    );
    expect(found).toEqual(["DASHBOARD_PASSWORD and DASHBOARD_PASSWORD_FILE are both set: set only one of them"]);
    expect(found.join()).not.toMatch(/hunter2|other-password/);
  });

  it("names a file it cannot read", () => {
    const found = problems(() => parseEnv(shape, { DASHBOARD_PASSWORD_FILE: join(dir, "missing") }));
    expect(found).toEqual([`DASHBOARD_PASSWORD_FILE: cannot read ${join(dir, "missing")} (ENOENT)`]);
  });

  it("reads only the secrets the app's schema has", () => {
    // The ingress has no DASHBOARD_PASSWORD: a file mounted only in the dashboard's container is not read.
    const ingressShape = z.object({ CALLBACK_TOKEN: z.string().optional() });
    expect(parseEnv(ingressShape, { DASHBOARD_PASSWORD_FILE: join(dir, "missing") })).toEqual({});
  });

  it("resolves ${ENV_VAR} references of RELAY_CONFIG from ENV_VAR_FILE", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const options = {
      env: { CRM_SECRET_FILE: file("crm", `${secret}\n`), CRM_TOKEN_FILE: file("crm-token", "t0k\n") },
      resolveSecrets: true,
      defaults: { timeoutMs: 10_000, attempts: 15, retry: { baseDelayMs: 1_000, maxDelayMs: 600_000 } },
    };
    const [crm] = parseRelayConfig(
      "destinations:\n  - name: crm\n    url: https://crm.example.com/in?key=${CRM_TOKEN}\n    secret: ${CRM_SECRET}\n",
      options,
    );
    expect(crm).toMatchObject({ secret, url: "https://crm.example.com/in?key=t0k" });
    const both = problems(() =>
      parseRelayConfig("destinations:\n  - name: crm\n    url: https://crm.example.com\n    secret: ${CRM_SECRET}\n", {
        ...options,
        env: { ...options.env, CRM_SECRET: secret },
      }),
    );
    expect(both).toEqual(["destinations[0].secret: CRM_SECRET and CRM_SECRET_FILE are both set: set only one of them"]);
  });
});
