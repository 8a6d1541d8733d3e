import { createPublicKey, randomBytes, verify } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eventually, messageCallback, spawnApp, startReceiver, type Receiver } from "@yuju-relay/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { secretFor, startRelayStack } from "./testing/relay-stack.ts";

type Stack = Awaited<ReturnType<typeof startRelayStack>>;

const OLD_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const EXPIRED_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const ED_KEY = `whsk_${randomBytes(32).toString("base64")}`;
const ED_KEY_OLD = `whsk_${randomBytes(32).toString("base64")}`;
const tomorrow = new Date(Date.now() + 86_400_000).toISOString();

/** A receiver holding one HMAC secret: the standardwebhooks package, as the README tells receivers. */
function verifiesWith(secret: string, delivery: Receiver["deliveries"][number]): boolean {
  try {
    new Webhook(secret).verify(delivery.raw, delivery.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** A receiver holding one `whpk_` public key: node:crypto alone, as the README shows. */
function verifiesWithPublicKey(publicKey: string, delivery: Receiver["deliveries"][number]): boolean {
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey.slice(5), "base64").toString("base64url") },
    format: "jwk",
  });
  const h = delivery.headers;
  const signed = Buffer.from(`${String(h["webhook-id"])}.${String(h["webhook-timestamp"])}.${delivery.raw}`);
  return String(h["webhook-signature"])
    .split(" ")
    .some((entry) => {
      const [version, signature] = entry.split(",");
      return version === "v1a" && verify(null, signed, key, Buffer.from(signature!, "base64"));
    });
}

describe("signing keys in rotation, ed25519, and redirects (ingress, a worker process, real receivers)", () => {
  const receivers: Record<string, Receiver> = {};
  let redirecting: Server;
  let redirects = 0;
  let stack: Stack;

  beforeAll(async () => {
    for (const name of ["rotating", "rotated", "signed", "redirect-target"]) receivers[name] = await startReceiver();
    // Answers every delivery 302 to another receiver, the way an endpoint moved to https would.
    redirecting = createServer((req, res) => {
      redirects += 1;
      req.resume();
      res.writeHead(302, { location: `${receivers["redirect-target"]!.url}?key=s3cret-in-query` }).end();
    });
    await new Promise<void>((r) => redirecting.listen(0, "127.0.0.1", r));
    const movedUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/events`;
    stack = await startRelayStack({
      redisUrl: inject("redisUrl"),
      workers: 1,
      workerEnv: { OLD_SECRET, EXPIRED_SECRET, SECRET_SIGNED: ED_KEY, ED_KEY_OLD },
      destinations: [
        {
          name: "rotating",
          receiver: receivers.rotating!,
          yaml: `    previousSecrets:\n      - secret: \${OLD_SECRET}\n        until: ${tomorrow}`,
        },
        {
          name: "rotated",
          receiver: receivers.rotated!,
          yaml: "    previousSecrets:\n      - secret: ${EXPIRED_SECRET}\n        until: 2026-01-01T00:00:00Z",
        },
        {
          name: "signed",
          receiver: receivers.signed!,
          yaml: `    signing: ed25519\n    previousSecrets:\n      - secret: \${ED_KEY_OLD}\n        until: ${tomorrow}`,
        },
        { name: "moved", receiver: { url: movedUrl } as Receiver, yaml: "    attempts: 3" },
      ],
    });
    await stack.post(messageCallback("m-rotation", { text: "在吗？" }));
  });
  afterAll(async () => {
    await stack.close();
    for (const r of Object.values(receivers)) await r.close();
    redirecting.closeAllConnections();
    await new Promise<void>((r) => redirecting.close(() => r()));
  });

  it("during the overlap, a receiver with only the old secret and one with only the new one both verify", async () => {
    const [delivery] = await eventually(() => {
      expect(receivers.rotating!.deliveries).toHaveLength(1);
      return receivers.rotating!.deliveries;
    });
    expect(String(delivery!.headers["webhook-signature"])).toMatch(/^v1,\S+ v1,\S+$/);
    expect(verifiesWith(secretFor("rotating"), delivery!)).toBe(true);
    expect(verifiesWith(OLD_SECRET, delivery!)).toBe(true);
  });

  it("past until, only the new secret verifies, and the worker said so at start", async () => {
    const [delivery] = await eventually(() => {
      expect(receivers.rotated!.deliveries).toHaveLength(1);
      return receivers.rotated!.deliveries;
    });
    expect(String(delivery!.headers["webhook-signature"])).toMatch(/^v1,\S+$/);
    expect(verifiesWith(secretFor("rotated"), delivery!)).toBe(true);
    expect(verifiesWith(EXPIRED_SECRET, delivery!)).toBe(false);
    const line = stack.workers[0]!.logs.find((l) => /past its until/.test(String(l.msg)));
    expect(line).toMatchObject({ destination: "rotated", until: "2026-01-01T00:00:00.000Z" });
    expect(JSON.stringify(stack.workers[0]!.logs)).not.toContain(EXPIRED_SECRET.slice(6));
  });

  it("an ed25519 destination is verified with the whpk_ keys `relay keys public` prints, old and new", async () => {
    const cli = spawnApp("apps/cli/src/main.ts", stack.env, ["keys", "public", "signed"]);
    expect(await cli.exited).toBe(0);
    const printed = cli.logs.map((l) => String(l.msg));
    const current = printed.find((l) => /^whpk_/.test(l))!;
    const previous = /previous key, also signing until .*: (whpk_\S+)/.exec(printed.join("\n"))?.[1];
    expect(current).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(previous).toMatch(/^whpk_/);
    expect(printed.join("\n")).not.toContain(ED_KEY.slice(5));
    const [delivery] = await eventually(() => {
      expect(receivers.signed!.deliveries).toHaveLength(1);
      return receivers.signed!.deliveries;
    });
    expect(String(delivery!.headers["webhook-signature"])).toMatch(/^v1a,\S+ v1a,\S+$/);
    expect(verifiesWithPublicKey(current, delivery!)).toBe(true);
    expect(verifiesWithPublicKey(previous!, delivery!)).toBe(true);
    expect(verifiesWithPublicKey(`whpk_${randomBytes(32).toString("base64")}`, delivery!)).toBe(false);
  });

  it("a redirect is not followed: the delivery fails at once naming the 302 and its Location, the target sees nothing", async () => {
    const failed = await eventually(async () => {
      const jobs = await stack.deliveries.get("moved")!.getFailed();
      expect(jobs).toHaveLength(1);
      return jobs[0]!;
    });
    expect(failed.failedReason).toMatch(
      new RegExp(`answered 302 redirecting to ${receivers["redirect-target"]!.url}: redirects are not followed`),
    );
    expect(failed.failedReason).not.toContain("s3cret-in-query");
    expect(failed.attemptsMade).toBe(1);
    expect(redirects).toBe(1);
    expect(receivers["redirect-target"]!.started).toBe(0);
  });
});
