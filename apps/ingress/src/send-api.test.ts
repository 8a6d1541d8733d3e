import { parseEnv, type ConfigError } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { freePort, uniquePrefix } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressEnv } from "./config.ts";
import { startIngress, type RunningIngress } from "./ingress.ts";

const KEY = "send-api-key-0123456789";

describe("the send API's configuration", () => {
  it("needs RELAY_API_KEYS with API_PORT, and never the callback port, naming variables, never values", () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseEnv(ingressEnv, env);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ API_PORT: "3100" })).toEqual(["RELAY_API_KEYS: is required when API_PORT is set"]);
    expect(problems({ API_PORT: "3000", PORT: "3000", RELAY_API_KEYS: KEY })[0]).toMatch(
      /^API_PORT: must differ from PORT/,
    );
    const short = problems({ API_PORT: "3100", RELAY_API_KEYS: "tooshort-secret" });
    expect(short).toEqual(["RELAY_API_KEYS: every key must be at least 16 characters"]);
    expect(
      parseEnv(ingressEnv, { API_PORT: "3100", RELAY_API_KEYS: ` ${KEY} , other-key-0123456789 ` }).RELAY_API_KEYS,
    ).toEqual([KEY, "other-key-0123456789"]);
    expect(parseEnv(ingressEnv, {}).API_PORT).toBeUndefined();
  });
});

describe("the send API without Redis", () => {
  let ingress: RunningIngress;
  beforeAll(async () => {
    const deadRedis = await freePort();
    ingress = await startIngress(
      parseEnv(ingressEnv, {
        REDIS_URL: `redis://127.0.0.1:${deadRedis}`,
        QUEUE_PREFIX: uniquePrefix("send-api"),
        PORT: "0",
        HOST: "127.0.0.1",
        API_PORT: "0",
        RELAY_API_KEYS: KEY,
      }),
      createLogger("ingress", "silent"),
    );
  }, 20_000);
  afterAll(() => ingress?.close());

  it("answers 503 with Retry-After, at once; bad keys and bodies still get 401 and 400", async () => {
    const post = (body: unknown, key = KEY) =>
      fetch(`${ingress.apiUrl}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const started = Date.now();
    const answer = await post({ chatId: "c", botWxid: "b", text: "hi" });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("1");
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await post({ chatId: "c", text: "hi" }, "wrong-key-0123456789")).status).toBe(401);
    expect((await post({ text: "hi" })).status).toBe(400);
    // The callback port knows nothing of sends.
    expect((await fetch(`${ingress.url}/v1/messages`, { method: "POST" })).status).toBe(404);
  });
});
