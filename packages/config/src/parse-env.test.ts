import { z } from "zod";
import { describe, expect, it } from "vitest";
import { checkRedisCluster, ConfigError, envDurationMs, envInt, parseEnv, redisEnv } from "./index.ts";

describe("parseEnv", () => {
  const shape = z.object({
    ...redisEnv,
    PORT: envInt({ default: 3000, min: 1, max: 65535 }),
    WINDOW: envDurationMs({ default: "24h" }),
  });

  it("applies defaults and treats empty strings as unset", () => {
    const env = parseEnv(shape, { PORT: "" });
    expect(env).toEqual({
      REDIS_URL: "redis://127.0.0.1:6379",
      QUEUE_PREFIX: "yuju",
      REDIS_CLUSTER: false,
      CALLBACK_PARTITIONS: 1,
      PORT: 3000,
      WINDOW: 86_400_000,
    });
  });

  it("parses durations with units", () => {
    expect(parseEnv(shape, { WINDOW: "90s" }).WINDOW).toBe(90_000);
    expect(parseEnv(shape, { WINDOW: "1500" }).WINDOW).toBe(1500);
  });

  it("names every bad variable and never echoes its value", () => {
    let error: unknown;
    try {
      parseEnv(shape, { PORT: "eighty", REDIS_URL: "http://secret-host", WINDOW: "soon" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/REDIS_URL:/);
    expect(message).toMatch(/WINDOW:/);
    expect(message).not.toContain("secret-host");
  });

  it("requires a hash-tagged QUEUE_PREFIX on Redis Cluster", () => {
    const clustered = shape.superRefine(checkRedisCluster);
    expect(() => parseEnv(clustered, { REDIS_CLUSTER: "true" })).toThrow(/QUEUE_PREFIX: must be hash-tagged/);
    expect(parseEnv(clustered, { REDIS_CLUSTER: "true", QUEUE_PREFIX: "{yuju}" }).QUEUE_PREFIX).toBe("{yuju}");
    expect(parseEnv(clustered, { QUEUE_PREFIX: "plain" }).REDIS_CLUSTER).toBe(false);
  });

  it("with several partitions, wants a plain QUEUE_PREFIX (each partition brings its own tag)", () => {
    const clustered = shape.superRefine(checkRedisCluster);
    const six = { REDIS_CLUSTER: "true", CALLBACK_PARTITIONS: "6" };
    expect(parseEnv(clustered, six).CALLBACK_PARTITIONS).toBe(6);
    expect(() => parseEnv(clustered, { ...six, QUEUE_PREFIX: "{yuju}" })).toThrow(/QUEUE_PREFIX: must not contain \{/);
    expect(() => parseEnv(clustered, { CALLBACK_PARTITIONS: "0" })).toThrow(/CALLBACK_PARTITIONS:/);
    expect(parseEnv(clustered, {}).CALLBACK_PARTITIONS).toBe(1);
  });
});
