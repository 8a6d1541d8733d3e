import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, RECORD_HEADER_BYTES } from "./spool-record.ts";

describe("spool record", () => {
  const payload = JSON.stringify({ body: { data: { messageId: "m-1", text: "在吗？" } } });

  it("reads back what was written, with the time it was accepted", () => {
    const record = encodeRecord(1_742_260_865_123, payload);
    expect(record.length).toBe(RECORD_HEADER_BYTES + Buffer.byteLength(payload));
    const decoded = decodeRecord(Buffer.concat([Buffer.from("xx"), record]), 2);
    expect(decoded).toMatchObject({ kind: "record", acceptedAt: 1_742_260_865_123, length: record.length });
    expect(decoded.kind === "record" && decoded.payload.toString("utf8")).toBe(payload);
  });

  it("tells a record cut short from a complete one", () => {
    const record = encodeRecord(1, payload);
    expect(decodeRecord(record.subarray(0, 10), 0)).toEqual({ kind: "incomplete", needed: RECORD_HEADER_BYTES });
    expect(decodeRecord(record.subarray(0, record.length - 1), 0)).toEqual({
      kind: "incomplete",
      needed: record.length,
    });
  });

  it("refuses a flipped bit, zeros and an absurd length", () => {
    const record = encodeRecord(1, payload);
    const flipped = Buffer.from(record);
    flipped[RECORD_HEADER_BYTES + 3]! ^= 0x04;
    expect(decodeRecord(flipped, 0)).toEqual({ kind: "corrupt", reason: "checksum mismatch" });
    expect(decodeRecord(Buffer.alloc(64), 0)).toMatchObject({ kind: "corrupt" });
    const huge = Buffer.from(record);
    huge.writeUInt32LE(0xffff_fff0, 0);
    expect(decodeRecord(huge, 0)).toMatchObject({ kind: "corrupt" });
  });
});
