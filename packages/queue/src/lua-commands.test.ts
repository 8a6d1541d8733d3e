import { uniquePrefix } from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createWorkerConnection } from "./connections.ts";
import { defineScripts } from "./lua-commands.ts";

interface CounterCommands {
  testCount(key: string, by: number): Promise<number>;
  testCountAny(numKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
}

describe("defineScripts (real Redis)", () => {
  const redis = createWorkerConnection(inject("redisUrl"));
  const prefix = uniquePrefix("lua");
  afterAll(() => redis.quit());

  const scripts = {
    testCount: { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" },
    testCountAny: { lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" },
  };

  it("runs the scripts as commands, with a fixed key count or one given per call, and in pipelines", async () => {
    const counter = defineScripts<CounterCommands>(redis, scripts);
    expect(await counter.testCount(`${prefix}:a`, 2)).toBe(2);
    expect(await counter.testCountAny(1, `${prefix}:a`, 3)).toBe(5);
    const pipeline = counter.pipeline() as unknown as CounterCommands & { exec(): Promise<unknown> };
    void pipeline.testCount(`${prefix}:a`, 1);
    expect(await pipeline.exec()).toEqual([[null, 6]]);
  });

  it("defines each script once per connection, whoever asks again", async () => {
    const first = defineScripts<CounterCommands>(redis, scripts);
    const command = (first as unknown as Record<string, unknown>).testCount;
    const again = defineScripts<CounterCommands>(redis, {
      ...scripts,
      testCount: { numberOfKeys: 1, lua: "return -1" },
    });
    expect(again).toBe(first);
    expect((again as unknown as Record<string, unknown>).testCount).toBe(command);
    expect(await again.testCount(`${prefix}:b`, 4)).toBe(4);
  });
});
