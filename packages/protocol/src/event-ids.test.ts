import { validateHeaderValue } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { messageEventId } from "./event-ids.ts";

describe("messageEventId", () => {
  it("keeps exactly msg_<messageId> for ids that are plain header values", () => {
    for (const id of ["m-1", "wm1YBFEAAA:xyz_9", "12345678901234567890", "a b", "string"]) {
      expect(messageEventId(id)).toBe(`msg_${id}`);
    }
  });

  it("derives msg_~<base64url sha256> for the others, deterministically", () => {
    expect(messageEventId("消息-1")).toBe("msg_~vQNOwCiG-keWb0OXJgwEgjz5HTCm7fokvB-9etvTKMs");
    for (const id of ["a\r\nb", "a\0", "😀", " leading", "trailing ", "", "x".repeat(257)]) {
      expect(messageEventId(id)).toMatch(/^msg_~[A-Za-z0-9_-]{43}$/);
      expect(messageEventId(id)).toBe(messageEventId(id));
    }
    expect(messageEventId("x".repeat(256))).toBe(`msg_${"x".repeat(256)}`);
  });

  it("is a valid header value for any string, and different strings get different ids", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        expect(() => validateHeaderValue("webhook-id", messageEventId(a))).not.toThrow();
        if (a !== b && Buffer.from(a).toString() !== Buffer.from(b).toString()) {
          expect(messageEventId(a)).not.toBe(messageEventId(b));
        }
      }),
      { numRuns: 200 },
    );
  });
});
