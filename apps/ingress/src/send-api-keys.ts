import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * The send API's keys (RELAY_API_KEYS). Both sides are hashed before the comparison, so that it
 * takes the same time whatever the length or content of the presented key; every key is compared
 * (no early exit), so the time does not say which one matched either.
 */
export function createApiKeyCheck(keys: readonly string[]) {
  const digests = keys.map(digest);
  return function isValidKey(authorization: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return false;
    const presented = digest(match[1]!);
    let valid = false;
    for (const d of digests) valid = timingSafeEqual(d, presented) || valid;
    return valid;
  };
}
