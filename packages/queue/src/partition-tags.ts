import calculateSlot from "cluster-key-slot";

/** The slots of a Redis Cluster. `redis-cli --cluster create` splits them evenly over the masters. */
export const CLUSTER_SLOTS = 16_384;

/** The slot partition `index` of `count` aims at: the middle of its even share of the slots. */
export function targetSlot(index: number, count: number): number {
  return Math.floor(((index + 0.5) * CLUSTER_SLOTS) / count);
}

const tagCache = new Map<number, readonly string[]>();

/**
 * The hash tag of each of `count` partitions: `p<index>`, or `p<index>.<n>` with the first `n`
 * whose slot lies near the middle of the partition's share of the 16 384 slots. A tag taken
 * as it comes does not spread: `{callbacks:0}` to `{callbacks:5}` fall 2/3/1 on three masters.
 * Evenly spaced slots fall evenly on any cluster whose slots are split evenly over its masters,
 * when the partitions are a multiple of the masters. Deterministic: every app computes the same
 * tags from the count alone.
 */
export function partitionTags(count: number): readonly string[] {
  const cached = tagCache.get(count);
  if (cached) return cached;
  // Within 1/32 of a share from its middle: far from the boundaries between masters, which an
  // even split puts at whole shares when the count is a multiple of the masters.
  const tolerance = Math.floor(CLUSTER_SLOTS / count / 32);
  const tags: string[] = [];
  for (let index = 0; index < count; index++) {
    const target = targetSlot(index, count);
    let tag = `p${index}`;
    for (let n = 1; Math.abs(calculateSlot(tag) - target) > tolerance; n++) tag = `p${index}.${n}`;
    tags.push(tag);
  }
  tagCache.set(count, tags);
  return tags;
}
