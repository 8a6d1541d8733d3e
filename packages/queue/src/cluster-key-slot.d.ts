// cluster-key-slot ships no types. Its two functions, as its README documents them.
declare module "cluster-key-slot" {
  /** The Redis Cluster slot of a key (CRC16 of its hash tag, or of the whole key), 0 to 16383. */
  export default function calculateSlot(key: string | Buffer): number;
  /** The slot every key shares, or -1 when they do not share one. */
  export function generateMulti(keys: Array<string | Buffer>): number;
}
