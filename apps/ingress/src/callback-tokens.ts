import { hash, timingSafeEqual } from "node:crypto";

// One-shot hashing: no Hash object per callback (it runs on every request).
const digest = (value: string) => hash("sha256", value, "buffer");

/**
 * CALLBACK_TOKEN as a list: the platform's current token and, during a rotation, the previous one.
 * Tokens are kept as SHA-256 digests, compared with timingSafeEqual: equal lengths whatever was
 * received, so the time taken says nothing about how much of a token matched.
 */
export class CallbackTokens {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * The position (0-based) of the token received in the list, or -1. Every comparison runs,
   * whatever the first gives: how long a check takes says nothing about which token matched.
   */
  match(received: string | null): number {
    const candidate = digest(received ?? "");
    let position = -1;
    for (let i = 0; i < this.digests.length; i++) {
      const equal = timingSafeEqual(this.digests[i]!, candidate);
      if (equal && position < 0) position = i;
    }
    return received === null ? -1 : position;
  }
}
