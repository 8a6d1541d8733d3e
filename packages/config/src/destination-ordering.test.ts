import { describe, expect, it } from "vitest";
import { ConfigError } from "./parse-env.ts";
import { parseRelayConfig } from "./relay-config-file.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const options: Parameters<typeof parseRelayConfig>[1] = {
  env: { CRM_WEBHOOK_SECRET: SECRET },
  resolveSecrets: true,
  defaults: { timeoutMs: 10_000, attempts: 15, retry: { baseDelayMs: 1_000, maxDelayMs: 600_000 } },
};

const crm = (extra: string) => `destinations:
  - name: crm
    url: https://crm.example.com/hooks
    secret: \${CRM_WEBHOOK_SECRET}
${extra}`;

function problems(yaml: string): readonly string[] {
  try {
    parseRelayConfig(yaml, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("RELAY_CONFIG ordering", () => {
  it("is off unless asked for", () => {
    expect(parseRelayConfig(crm(""), options)[0]?.ordering).toBeNull();
    expect(parseRelayConfig(crm("    ordering: none\n"), options)[0]?.ordering).toBeNull();
  });

  it("per-conversation skips a failed event by default, or blocks on it when asked", () => {
    expect(parseRelayConfig(crm("    ordering: per-conversation\n"), options)[0]?.ordering).toEqual({
      by: "conversation",
      onFailure: "skip",
    });
    const blocking = parseRelayConfig(crm("    ordering: per-conversation\n    onFailure: block\n"), options);
    expect(blocking[0]?.ordering).toEqual({ by: "conversation", onFailure: "block" });
  });

  it("names the path of a wrong value, and refuses onFailure on an unordered destination", () => {
    expect(problems(crm("    ordering: per-chat\n"))).toEqual([
      'destinations[0].ordering: must be "per-conversation" or "none"',
    ]);
    expect(problems(crm("    ordering: per-conversation\n    onFailure: retry\n"))).toEqual([
      'destinations[0].onFailure: must be "skip" or "block"',
    ]);
    expect(problems(crm("    onFailure: block\n"))).toEqual([
      "destinations[0].onFailure: applies only with ordering: per-conversation",
    ]);
  });
});
