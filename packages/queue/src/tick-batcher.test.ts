import { describe, expect, it } from "vitest";
import { createTickBatcher } from "./tick-batcher.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("createTickBatcher", () => {
  it("hands the items of one turn over together and gives each caller its own result", async () => {
    const batches: number[][] = [];
    const submit = createTickBatcher(
      async (items: number[]) => {
        batches.push(items);
        return items.map((n) => n * 10);
      },
      { maxBatch: 100 },
    );
    const first = await Promise.all([submit(1), submit(2), submit(3)]);
    const later = await submit(4);
    expect(first).toEqual([10, 20, 30]);
    expect(later).toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("collects items submitted from different callbacks of the same turn", async () => {
    const batches: string[][] = [];
    const submit = createTickBatcher(async (items: string[]) => (batches.push(items), items), { maxBatch: 100 });
    const answers = await new Promise<Promise<string>[]>((resolve) => {
      const promises: Promise<string>[] = [];
      // Both run in the same check phase; the flush they schedule runs in the next one.
      setImmediate(() => promises.push(submit("a")));
      setImmediate(() => {
        promises.push(submit("b"));
        resolve(promises);
      });
    });
    expect(await Promise.all(answers)).toEqual(["a", "b"]);
    expect(batches).toEqual([["a", "b"]]);
  });

  it("hands a full batch over at once, without waiting for the end of the turn", async () => {
    const batches: number[][] = [];
    const submit = createTickBatcher(async (items: number[]) => (batches.push(items), items), { maxBatch: 2 });
    const first = [submit(1), submit(2)];
    expect(batches).toEqual([[1, 2]]);
    const third = submit(3);
    expect(await Promise.all([...first, third])).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it("splits a turn's items into batches of at most maxBatch", async () => {
    const sizes: number[] = [];
    const submit = createTickBatcher(async (items: number[]) => (sizes.push(items.length), items), { maxBatch: 2 });
    expect(await Promise.all([1, 2, 3, 4, 5].map(submit))).toEqual([1, 2, 3, 4, 5]);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it("rejects every caller of a failed batch, and only them", async () => {
    let calls = 0;
    const submit = createTickBatcher(
      async (items: number[]) => {
        if (++calls === 1) throw new Error("redis went away");
        return items;
      },
      { maxBatch: 100 },
    );
    const failed = [submit(1), submit(2)];
    await expect(failed[0]).rejects.toThrow("redis went away");
    await expect(failed[1]).rejects.toThrow("redis went away");
    await nextTurn();
    expect(await submit(3)).toBe(3);
  });

  it("rejects a batch whose flush returns the wrong number of results", async () => {
    const submit = createTickBatcher(async () => [1], { maxBatch: 100 });
    await expect(Promise.all([submit(1), submit(2)])).rejects.toThrow(/batch of 2 returned 1/);
  });
});
