import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

/**
 * How a destination's deliveries are signed (Standard Webhooks): `hmac-sha256` is `v1`, a secret
 * shared with the receiver (`whsec_…`); `ed25519` is `v1a`, a private key (`whsk_…`) whose public
 * key (`whpk_…`) is all the receiver holds.
 */
export const SIGNING_SCHEMES = ["hmac-sha256", "ed25519"] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

export const HMAC_SECRET = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;
export const HMAC_SECRET_FORMAT = "must be whsec_ followed by a base64 secret of 12 bytes or more";
const ED25519_SECRET = /^whsk_([A-Za-z0-9+/]{43}=)$/;
export const ED25519_SECRET_FORMAT = "must be whsk_ followed by the base64 of a 32-byte ed25519 seed";

/** Whether a secret has the form its scheme needs; null when it does, else what it must be. */
export function signingSecretProblem(scheme: SigningScheme, secret: string): string | null {
  if (scheme === "hmac-sha256") return HMAC_SECRET.test(secret) ? null : HMAC_SECRET_FORMAT;
  return ED25519_SECRET.test(secret) ? null : ED25519_SECRET_FORMAT;
}

// An ed25519 seed in a PKCS#8 envelope is this fixed DER prefix and the 32 bytes (RFC 8410):
// node:crypto imports private keys only in an envelope.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The private key of a `whsk_…` secret. Throws for anything else (check signingSecretProblem first). */
export function ed25519PrivateKey(secret: string): KeyObject {
  const seed = ED25519_SECRET.exec(secret)?.[1];
  if (!seed) throw new Error(ED25519_SECRET_FORMAT);
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed, "base64")]),
    format: "der",
    type: "pkcs8",
  });
}

/** `whpk_` + the base64 of the 32-byte raw public key: what a receiver of a `whsk_…` destination holds. */
export function ed25519PublicKey(secret: string): string {
  const jwk = createPublicKey(ed25519PrivateKey(secret)).export({ format: "jwk" });
  return `whpk_${Buffer.from(jwk.x!, "base64url").toString("base64")}`;
}
