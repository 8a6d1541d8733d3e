import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./parse-env.ts";
import { parseRelayConfig, readRelayConfig } from "./relay-config-file.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const env: Record<string, string> = {
  CRM_WEBHOOK_SECRET: SECRET,
  TICKETS_WEBHOOK_SECRET: SECRET,
  ARCHIVE_WEBHOOK_SECRET: SECRET,
  ASSISTANT_WEBHOOK_SECRET: SECRET,
};
const defaults = { timeoutMs: 10_000, attempts: 15, retry: { baseDelayMs: 1_000, maxDelayMs: 600_000 } };
const options: Parameters<typeof parseRelayConfig>[1] = { env, resolveSecrets: true, defaults };

function problems(yaml: string, opts = options): readonly string[] {
  try {
    parseRelayConfig(yaml, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

const one = (extra: string) => `destinations:
  - name: crm
    url: https://crm.example.com/hooks
    secret: \${CRM_WEBHOOK_SECRET}
${extra}`;

describe("RELAY_CONFIG", () => {
  it("reads relay.example.yaml: four destinations, defaults applied, secrets resolved", () => {
    const destinations = readRelayConfig(new URL("../../../relay.example.yaml", import.meta.url).pathname, options);
    expect(destinations.map((d) => d.name)).toEqual(["crm", "tickets", "archive", "assistant"]);
    const [crm, tickets, archive, assistant] = destinations;
    expect(assistant?.filter).toEqual({ origin: ["contact"] });
    expect(problems(one("    filter:\n      origin: [customer]\n"))).toEqual([
      'destinations[0].filter.origin[0]: unknown origin "customer" (one of contact, hosted_account, api, automation, unknown)',
    ]);
    expect(crm).toMatchObject({
      events: ["message.received"],
      filter: { isSelf: false },
      timeoutMs: 5_000,
      attempts: 15,
      rateLimit: 20,
      enabled: true,
      secret: SECRET,
    });
    expect(tickets?.filter?.textMatches?.test("我要退款")).toBe(true);
    expect(tickets?.filter?.textMatches?.test("I want a REFUND")).toBe(true);
    expect(tickets?.retry).toEqual({ baseDelayMs: 5_000, maxDelayMs: 120_000 });
    expect(archive).toMatchObject({ events: null, filter: null, attempts: 40, timeoutMs: 20_000 });
  });

  it("names the path of every problem", () => {
    const found = problems(`destinations:
  - name: crm
    url: https://crm.example.com/hooks
    secret: \${CRM_WEBHOOK_SECRET}
  - name: Tickets
    url: ftp://tickets.example.com
    secret: \${CRM_WEBHOOK_SECRET}
    events: [message.sent]
    filter:
      kinds: [txt]
      chatIds: [7881300555512345]
      isGroup: "yes"
    timeout: soon
    rateLimit: 0
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'destinations[1].filter.kinds[0]: unknown kind "txt"',
        'destinations[1].events[0]: unknown event type "message.sent"',
        expect.stringMatching(/^destinations\[1\]\.name: must be made of a-z, 0-9 and -/),
        "destinations[1].url: must be an http(s) URL",
        expect.stringMatching(/^destinations\[1\]\.filter\.chatIds\[0\]: must be a string \(quote ids/),
        "destinations[1].filter.isGroup: must be true or false",
        "destinations[1].timeout: must be a duration such as 500ms, 30s, 15m, 24h or 7d",
        expect.stringMatching(/^destinations\[1\]\.rateLimit: /),
      ]),
    );
  });

  it("refuses unknown keys, naming each: a typo never widens or narrows a filter", () => {
    expect(problems(one("    filter:\n      kind: [text]\n    retries: 3\n"))).toEqual([
      'destinations[0].filter: unknown key "kind"',
      'destinations[0]: unknown key "retries"',
    ]);
    expect(problems(`${one("")}extra: true\n`)).toEqual(['(file): unknown key "extra"']);
  });

  it("never takes a secret written in the file, and never echoes it", () => {
    const found = problems(one("").replace("${CRM_WEBHOOK_SECRET}", SECRET));
    expect(found).toEqual([expect.stringMatching(/^destinations\[0\]\.secret: must be a \$\{ENV_VAR\} reference/)]);
    expect(found.join("\n")).not.toContain(SECRET);
  });

  it("names a missing variable, and a variable that is not a whsec_ secret without its value", () => {
    expect(problems(one(""), { ...options, env: {} })).toEqual([
      "destinations[0].secret: environment variable CRM_WEBHOOK_SECRET is not set",
    ]);
    const found = problems(one(""), { ...options, env: { CRM_WEBHOOK_SECRET: "hunter2-not-a-secret" } });
    expect(found).toEqual([expect.stringMatching(/CRM_WEBHOOK_SECRET must be whsec_/)]);
    expect(found.join("\n")).not.toContain("hunter2");
  });

  it("resolves ${ENV_VAR} in a URL (a token in its query)", () => {
    const [crm] = parseRelayConfig(one("").replace("/hooks", "/hooks?key=${CRM_KEY}"), {
      ...options,
      env: { ...env, CRM_KEY: "k-123" },
    });
    expect(crm?.url).toBe("https://crm.example.com/hooks?key=k-123");
    expect(problems(one("").replace("/hooks", "/hooks?key=${CRM_KEY}"))).toEqual([
      "destinations[0].url: environment variable CRM_KEY is not set",
    ]);
  });

  it("checks names are unique, lists are not empty, regular expressions compile", () => {
    const twice = `${one("")}  - name: crm\n    url: https://b.example.com\n    secret: \${CRM_WEBHOOK_SECRET}\n`;
    expect(problems(twice)).toEqual(['destinations[1].name: duplicate name "crm" (also destinations[0])']);
    expect(problems(one("    filter:\n      roomIds: []\n"))).toEqual([
      "destinations[0].filter.roomIds: an empty list matches nothing: remove the key to match every value",
    ]);
    expect(problems(one('    filter:\n      textMatches: "(unclosed"\n'))[0]).toMatch(
      /^destinations\[0\]\.filter\.textMatches: not a regular expression/,
    );
    expect(problems(one("    timeout: 3m\n"))).toEqual(["destinations[0].timeout: must be between 100ms and 120000ms"]);
    expect(problems(one("    retry: { baseDelay: 10m, maxDelay: 1m }\n"))).toEqual([
      "destinations[0].retry: baseDelay must not be longer than maxDelay",
    ]);
  });

  it("reports YAML errors by line and an empty or missing file plainly", () => {
    expect(problems("destinations:\n  - name: a\n   url: b\n")[0]).toMatch(/^line \d+, column \d+: /);
    expect(problems("")).toEqual(["(file): is empty; expected destinations"]);
    const dir = mkdtempSync(join(tmpdir(), "relay-config-"));
    expect(() => readRelayConfig(join(dir, "missing.yaml"), options)).toThrow(/cannot read the file \(ENOENT\)/);
    writeFileSync(join(dir, "ok.yaml"), one(""));
    expect(readRelayConfig(join(dir, "ok.yaml"), options)).toHaveLength(1);
  });

  it("with resolveSecrets off, reads names and shapes without the variables", () => {
    const [crm] = parseRelayConfig(one(""), { ...options, env: {}, resolveSecrets: false });
    expect(crm?.secret).toBe("${CRM_WEBHOOK_SECRET}");
  });
});
