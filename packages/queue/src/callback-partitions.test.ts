import { describe, expect, it } from "vitest";
import { CallbackPartitions } from "./callback-partitions.ts";

describe("CallbackPartitions", () => {
  it("with one partition, keeps one Redis's layout exactly: no tags", () => {
    const one = new CallbackPartitions(1);
    expect(one.of("wrOgQhDgAAo")).toBe(0);
    expect(one.callbackQueueNames()).toEqual(["callbacks"]);
    expect(one.deliveryQueueName("crm", 0)).toBe("deliveries.crm");
    expect(one.keyPrefix("yuju", 0)).toBe("yuju");
    expect(one.parseQueueName("deliveries.crm")).toEqual({ partition: 0, baseName: "deliveries.crm" });
    expect(one.parseQueueName("{p1}callbacks")).toBeNull();
  });

  it("tags every queue and key of a partition with the partition's tag", () => {
    const six = new CallbackPartitions(6);
    const tag = six.tag(3)!;
    expect(six.callbackQueueName(3)).toBe(`{${tag}}callbacks`);
    expect(six.deliveryQueueName("crm", 3)).toBe(`{${tag}}deliveries.crm`);
    expect(six.keyPrefix("yuju", 3)).toBe(`yuju:{${tag}}`);
    expect(six.parseQueueName(`{${tag}}deliveries.crm`)).toEqual({ partition: 3, baseName: "deliveries.crm" });
    expect(six.parseQueueName("callbacks")).toBeNull();
    expect(six.parseQueueName("{nope}callbacks")).toBeNull();
    expect(six.callbackQueueNames()).toHaveLength(6);
    expect(() => six.tag(6)).toThrow(/no partition 6 of 6/);
  });

  it("sends one conversation always to one partition, the same in every release", () => {
    const six = new CallbackPartitions(6);
    // Fixed values: a changed hash would move conversations between partitions on an upgrade.
    expect(["wrOgQhDgAAo", "10696052718820451", "chat-1", ""].map((c) => six.of(c))).toMatchInlineSnapshot(`
      [
        5,
        4,
        1,
        1,
      ]
    `);
    expect(six.of("wrOgQhDgAAo")).toBe(six.of("wrOgQhDgAAo"));
    expect(six.of(null)).toBe(0);
  });

  it("spreads 2 000 conversations within ±15% of an even share", () => {
    const six = new CallbackPartitions(6);
    const load = new Array<number>(6).fill(0);
    for (let i = 0; i < 2_000; i++) load[six.of(`wr${i}-chat`)]! += 1;
    for (const n of load) expect(Math.abs(n - 2_000 / 6)).toBeLessThan((2_000 / 6) * 0.15);
  });
});
