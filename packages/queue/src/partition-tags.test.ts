import calculateSlot from "cluster-key-slot";
import { describe, expect, it } from "vitest";
import { CLUSTER_SLOTS, partitionTags, targetSlot } from "./partition-tags.ts";

/** The masters' slot ranges as `redis-cli --cluster create` splits them: even, in order. */
function evenSplit(masters: number): Array<[number, number]> {
  const share = CLUSTER_SLOTS / masters;
  return Array.from({ length: masters }, (_, i) => [Math.round(i * share), Math.round((i + 1) * share) - 1]);
}

const masterOf = (slot: number, ranges: Array<[number, number]>) =>
  ranges.findIndex(([from, to]) => slot >= from && slot <= to);

describe("partition tags", () => {
  it("space the partitions' slots evenly over the 16 384 slots", () => {
    for (const count of [2, 3, 4, 6, 8, 12, 16, 64, 256]) {
      const slots = partitionTags(count).map((tag) => calculateSlot(tag));
      const share = CLUSTER_SLOTS / count;
      slots.forEach((slot, i) => expect(Math.abs(slot - targetSlot(i, count))).toBeLessThanOrEqual(share / 32));
      // Consecutive partitions are one share apart, give or take 1/16 of a share.
      for (let i = 1; i < count; i++)
        expect(Math.abs(slots[i]! - slots[i - 1]! - share)).toBeLessThanOrEqual(share / 16);
      expect(new Set(partitionTags(count)).size).toBe(count);
    }
  });

  it("put 6 partitions 2/2/2 on 3 masters, and any multiple of the masters evenly", () => {
    const perMaster = (count: number, masters: number) => {
      const load = new Array<number>(masters).fill(0);
      for (const tag of partitionTags(count)) load[masterOf(calculateSlot(tag), evenSplit(masters))]! += 1;
      return load;
    };
    expect(perMaster(6, 3)).toEqual([2, 2, 2]);
    for (const masters of [1, 2, 3, 4, 5, 6, 8]) {
      for (const k of [1, 2, 3, 4]) expect(perMaster(masters * k, masters)).toEqual(new Array(masters).fill(k));
    }
  });

  it("does better than tags taken as they come", () => {
    // The example: a plain numbered tag can put 3 of 6 partitions on one master.
    const naive = [0, 1, 2, 3, 4, 5].map((i) => masterOf(calculateSlot(`callbacks:${i}`), evenSplit(3)));
    const counts = [0, 1, 2].map((m) => naive.filter((x) => x === m).length);
    expect(counts).not.toEqual([2, 2, 2]);
  });

  it("are the same on every call and in every app (computed from the count alone)", () => {
    expect(partitionTags(6)).toEqual(partitionTags(6));
    expect(partitionTags(6)[0]).toMatch(/^p0(\.\d+)?$/);
    expect(partitionTags(6)).toMatchInlineSnapshot(`
      [
        "p0.9",
        "p1.20",
        "p2.6",
        "p3.127",
        "p4.37",
        "p5.70",
      ]
    `);
  });
});
