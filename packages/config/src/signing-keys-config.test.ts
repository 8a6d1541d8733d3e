import { describe, expect, it } from "vitest";
import { ConfigError } from "./parse-env.ts";
import { parseRelayConfig } from "./relay-config-file.ts";

const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_OLD = "whsec_b2xkLXNlY3JldC1vZi1jcm0tMDEyMzQ1Njc4OQ==";
const WHSK = `whsk_${Buffer.alloc(32, 7).toString("base64")}`;
const env = { NEW: WHSEC, OLD: WHSEC_OLD, ED: WHSK, ED_OLD: `whsk_${Buffer.alloc(32, 9).toString("base64")}` };
const options = {
  env,
  resolveSecrets: true,
  defaults: { timeoutMs: 10_000, attempts: 15, retry: { baseDelayMs: 1_000, maxDelayMs: 600_000 } },
};
const destination = (lines: string) =>
  `destinations:\n  - name: crm\n    url: https://crm.example.com/in\n${lines.replace(/^/gm, "    ")}\n`;

function problems(yaml: string, opts = options): readonly string[] {
  try {
    parseRelayConfig(yaml, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("RELAY_CONFIG signing keys", () => {
  it("reads previousSecrets in block style, each resolved with its until", () => {
    const [crm] = parseRelayConfig(
      destination("secret: ${NEW}\npreviousSecrets:\n  - secret: ${OLD}\n    until: 2026-12-31T00:00:00Z"),
      options,
    );
    expect(crm).toMatchObject({ secret: WHSEC, signing: "hmac-sha256" });
    expect(crm?.previousSecrets).toEqual([{ secret: WHSEC_OLD, until: new Date("2026-12-31T00:00:00Z") }]);
  });

  it("signing: ed25519 takes whsk_ keys, and refuses a whsec_ one, naming the variable, never the value", () => {
    const [signed] = parseRelayConfig(
      destination(
        "secret: ${ED}\nsigning: ed25519\npreviousSecrets:\n  - secret: ${ED_OLD}\n    until: 2026-12-31T08:00:00+08:00",
      ),
      options,
    );
    expect(signed).toMatchObject({ secret: WHSK, signing: "ed25519" });
    const found = problems(
      destination(
        "secret: ${ED}\nsigning: ed25519\npreviousSecrets:\n  - secret: ${OLD}\n    until: 2026-12-31T00:00:00Z",
      ),
    );
    expect(found).toEqual([
      "destinations[0].previousSecrets[0].secret: environment variable OLD must be whsk_ followed by the base64 of a 32-byte ed25519 seed",
    ]);
    expect(found.join()).not.toContain(WHSEC_OLD);
    expect(problems(destination("secret: ${ED}"))).toEqual([
      "destinations[0].secret: environment variable ED must be whsec_ followed by a base64 secret of 12 bytes or more",
    ]);
  });

  it("names a bad until, an unknown scheme, a literal secret and a missing key", () => {
    expect(
      problems(
        destination(
          "secret: ${NEW}\nsigning: rsa\npreviousSecrets:\n  - secret: whsec_literal\n    until: next week\n  - until: 2026-12-31",
        ),
      ),
    ).toEqual([
      "destinations[0].signing: must be hmac-sha256 or ed25519",
      "destinations[0].previousSecrets[0].secret: must be a ${ENV_VAR} reference such as ${CRM_WEBHOOK_SECRET}: the file never holds a secret",
      "destinations[0].previousSecrets[0].until: must be an ISO 8601 time with its zone, such as 2026-12-31T00:00:00Z",
      "destinations[0].previousSecrets[1].secret: is required",
      "destinations[0].previousSecrets[1].until: must be an ISO 8601 time with its zone, such as 2026-12-31T00:00:00Z",
    ]);
  });
});
