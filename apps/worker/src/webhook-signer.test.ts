import { createPublicKey, randomBytes, verify } from "node:crypto";
import { ed25519PublicKey } from "@yuju-relay/protocol";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createWebhookSigner } from "./webhook-signer.ts";

const whsec = () => `whsec_${randomBytes(24).toString("base64")}`;
const whsk = () => `whsk_${randomBytes(32).toString("base64")}`;
const payload = JSON.stringify({ type: "message.received", data: { text: "在吗？" } });

/** What a receiver does with only the `whpk_…` key it was given: node:crypto, nothing else. */
function receiverVerifies(publicKey: string, headers: Record<string, string>, body: string): boolean {
  const key = createPublicKey({
    key: {
      kty: "OKP",
      crv: "Ed25519",
      x: Buffer.from(publicKey.slice("whpk_".length), "base64").toString("base64url"),
    },
    format: "jwk",
  });
  const signed = Buffer.from(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`);
  return headers["webhook-signature"]!.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    return version === "v1a" && verify(null, signed, key, Buffer.from(signature!, "base64"));
  });
}

const headersAt = (sign: ReturnType<typeof createWebhookSigner>, at: Date) => ({
  "webhook-id": "msg_m-1",
  "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
  "webhook-signature": sign("msg_m-1", at, payload),
});
const verifiesWith = (secret: string, headers: Record<string, string>) => {
  try {
    new Webhook(secret).verify(payload, headers);
    return true;
  } catch {
    return false;
  }
};

describe("webhook-signature with keys in rotation", () => {
  it("hmac-sha256: until `until`, one v1 signature per key, each receiver verifying with the one it holds", () => {
    const [current, old] = [whsec(), whsec()];
    const now = new Date();
    const until = new Date(now.getTime() + 1_000);
    const sign = createWebhookSigner({
      secret: current,
      signing: "hmac-sha256",
      previousSecrets: [{ secret: old, until }],
    });
    const during = headersAt(sign, now);
    expect(during["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    expect(verifiesWith(current, during)).toBe(true);
    expect(verifiesWith(old, during)).toBe(true);
    const after = headersAt(sign, until);
    expect(after["webhook-signature"]).toMatch(/^v1,\S+$/);
    expect(verifiesWith(current, after)).toBe(true);
    expect(verifiesWith(old, after)).toBe(false);
  });

  it("a single key signs once, exactly as the standardwebhooks package does", () => {
    const secret = whsec();
    const at = new Date();
    expect(createWebhookSigner({ secret })("msg_m-1", at, payload)).toBe(
      new Webhook(secret).sign("msg_m-1", at, payload),
    );
  });

  it("ed25519: v1a signatures that node:crypto verifies from the whpk_ public key, old and new during the overlap", () => {
    const [current, old] = [whsk(), whsk()];
    const now = new Date();
    const until = new Date(now.getTime() + 1_000);
    const sign = createWebhookSigner({
      secret: current,
      signing: "ed25519",
      previousSecrets: [{ secret: old, until }],
    });
    const during = headersAt(sign, now);
    expect(during["webhook-signature"]).toMatch(/^v1a,[A-Za-z0-9+/]{86}== v1a,[A-Za-z0-9+/]{86}==$/);
    expect(receiverVerifies(ed25519PublicKey(current), during, payload)).toBe(true);
    expect(receiverVerifies(ed25519PublicKey(old), during, payload)).toBe(true);
    expect(receiverVerifies(ed25519PublicKey(whsk()), during, payload)).toBe(false);
    expect(receiverVerifies(ed25519PublicKey(current), during, `${payload} `)).toBe(false);
    const after = headersAt(sign, until);
    expect(receiverVerifies(ed25519PublicKey(current), after, payload)).toBe(true);
    expect(receiverVerifies(ed25519PublicKey(old), after, payload)).toBe(false);
  });

  it("derives the public key of RFC 8032's first test vector", () => {
    const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
    const publicKey = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
    expect(ed25519PublicKey(`whsk_${seed.toString("base64")}`)).toBe(`whpk_${publicKey.toString("base64")}`);
  });
});
