import { sign as signWith } from "node:crypto";
import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import { ed25519PrivateKey } from "@yuju-relay/protocol";
import { Webhook } from "standardwebhooks";

/** What signing needs of a destination: its current key, its scheme, the keys being rotated out. */
export type SigningKeys = Pick<Destination, "secret" | "signing" | "previousSecrets">;

/** `webhook-signature` for one delivery: one `v1,…` or `v1a,…` per key in use at `at`, space-separated. */
export type SignWebhook = (webhookId: string, at: Date, payload: string) => string;

type SignOne = (webhookId: string, at: Date, payload: string) => string;

function signerFor(scheme: SigningKeys["signing"], secret: string): SignOne {
  if (scheme === "ed25519") {
    // Imported once: key parsing per delivery would cost more than the signature itself.
    const key = ed25519PrivateKey(secret);
    return (webhookId, at, payload) =>
      `v1a,${signWith(null, Buffer.from(`${webhookId}.${Math.floor(at.getTime() / 1000)}.${payload}`), key).toString("base64")}`;
  }
  const webhook = new Webhook(secret);
  return (webhookId, at, payload) => webhook.sign(webhookId, at, payload);
}

/**
 * Builds the `webhook-signature` value from a destination's keys, as Standard Webhooks specifies
 * for rotation: the current key's signature first, then one per previous key whose `until` is
 * still ahead of the delivery's time, so that a receiver holding either key verifies it. A
 * previous key past its `until` no longer signs (signWebhook is made once, at start, and a
 * worker runs for weeks: the time is read per delivery).
 */
export function createWebhookSigner(keys: SigningKeys): SignWebhook {
  const current = signerFor(keys.signing, keys.secret);
  const previous = (keys.previousSecrets ?? []).map((p) => ({
    sign: signerFor(keys.signing, p.secret),
    untilMs: p.until.getTime(),
  }));
  if (previous.length === 0) return current;
  return (webhookId, at, payload) => {
    let value = current(webhookId, at, payload);
    for (const p of previous) if (at.getTime() < p.untilMs) value += ` ${p.sign(webhookId, at, payload)}`;
    return value;
  };
}

/**
 * At start: says which destinations sign with more than one key, and until when, and which previous
 * keys are already past their `until` (ignored: the line says so, so that a forgotten entry is noticed).
 * Never a key, only names and times.
 */
export function logSigningKeys(destinations: readonly Destination[], logger: Logger, now = new Date()): void {
  for (const d of destinations) {
    for (const [index, p] of (d.previousSecrets ?? []).entries()) {
      const entry = { destination: d.name, previousSecret: index, until: p.until.toISOString() };
      if (p.until.getTime() <= now.getTime()) {
        logger.warn(entry, "previous signing secret is past its until: ignored (remove it from the file)");
      } else {
        logger.info(entry, "previous signing secret also signs every delivery until then");
      }
    }
  }
}
