import fc from "fast-check";
import { isSafeNumber } from "lossless-json";
import { describe, expect, it } from "vitest";
import { MAX_NESTING, parseCallbackJson } from "./callback-json.ts";
import { classifyCallback, normalizeCallback } from "./callback.ts";

const parsed = (text: string) => {
  const result = parseCallbackJson(text);
  if (!result.ok) throw new Error(result.error);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads into arbitrary parsed JSON
  return result.body as Record<string, any>;
};
const nested = (depth: number) => `${"[".repeat(depth - 1)}{"a":1}${"]".repeat(depth - 1)}`;

describe("parseCallbackJson", () => {
  it("keeps the exact digits of integers beyond 2^53, as strings, and leaves safe numbers alone", () => {
    const body = parsed(
      '{"data":{"messageId":9007199254740993,"other":9007199254740992,"roomId":10696052718820451,"type":7,"ts":1742260865000,"lat":31.230416}}',
    );
    expect(body.data).toEqual({
      messageId: "9007199254740993",
      other: "9007199254740992",
      roomId: "10696052718820451",
      type: 7,
      ts: 1742260865000,
      lat: 31.230416,
    });
  });

  it("keeps numbers a double cannot hold (1e999, -123456789012345678901) as their text", () => {
    expect(parsed('{"a":1e999,"b":-123456789012345678901,"c":1e3,"d":"12345678901234567890"}')).toEqual({
      a: "1e999",
      b: "-123456789012345678901",
      c: 1000,
      d: "12345678901234567890",
    });
  });

  it("gives every integer's exact digits to the event id, the messageId and the room id", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: 0n, max: 10n ** 25n }),
        (m, r) => {
          const body = parsed(`{"data":{"messageId":${m},"roomId":${r},"type":7}}`);
          const outcome = normalizeCallback(classifyCallback(body), body);
          if (!outcome.ok || outcome.event.type !== "message.received") throw new Error("not a message");
          expect(outcome.event.data.messageId).toBe(String(m));
          expect(outcome.event.id).toBe(`msg_${m}`);
          if (r !== 0n) expect(outcome.event.data.room?.id).toBe(String(r));
        },
      ),
    );
  });

  it("finds every inexact number wherever it stands: in arrays, after whitespace, negative, at the top", () => {
    const bigint = fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n });
    fc.assert(
      fc.property(fc.array(fc.tuple(bigint, fc.constantFrom("", " ", "\n\t", "\r\n  "))), (values) => {
        const text = `[${values.map(([v, space]) => `${space}${v}${space}`).join(",")}]`;
        const expected = values.map(([v]) => (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)));
        expect(parsed(text)).toEqual(expected);
      }),
    );
    expect(parseCallbackJson("  12345678901234567890 ")).toEqual({ ok: true, body: "12345678901234567890" });
  });

  it("keeps __proto__ and constructor as own data keys on both parsers, and pollutes no prototype", () => {
    for (const digits of ["1", "12345678901234567890"]) {
      const body = parsed(
        `{"__proto__":{"polluted":${digits}},"data":{"payload":{"__proto__":{"x":1},"constructor":{"prototype":{"polluted":1}}}}}`,
      );
      expect(Object.hasOwn(body, "__proto__")).toBe(true);
      expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
      expect(Object.hasOwn(body.data.payload, "__proto__")).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it("lets the last of duplicate keys win on both parsers, as JSON.parse does", () => {
    expect(parsed('{"a":1,"a":2}')).toEqual({ a: 2 });
    expect(parsed('{"a":12345678901234567890,"a":2}')).toEqual({ a: 2 });
  });

  it(`accepts ${MAX_NESTING} levels of nesting and refuses one more, before parsing`, () => {
    expect(parseCallbackJson(nested(MAX_NESTING)).ok).toBe(true);
    expect(parseCallbackJson(nested(MAX_NESTING + 1))).toMatchObject({ ok: false, problem: "too_deep" });
    const deep = parseCallbackJson(nested(100_000));
    expect(deep).toMatchObject({ ok: false, problem: "too_deep" });
    expect(!deep.ok && deep.error).toMatch(/100000 levels deep; at most 64/);
    // Brackets inside strings do not count.
    expect(parseCallbackJson(`{"text":"${"[{".repeat(500)}\\"["}`).ok).toBe(true);
  });

  it("says why a body is not JSON", () => {
    expect(parseCallbackJson("{not json")).toMatchObject({ ok: false, problem: "malformed" });
    expect(parseCallbackJson('{"a":123456789012345678901')).toMatchObject({ ok: false, problem: "malformed" });
  });

  it("parses any JSON value as JSON.parse does, except numbers it would round", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value);
        // The reference: JSON.parse, with every number a double cannot hold turned into its text.
        const expected: unknown = JSON.parse(text, (_key, v: unknown) =>
          typeof v === "number" && !isSafeNumber(JSON.stringify(v)) ? JSON.stringify(v) : v,
        );
        expect(parsed(text)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
