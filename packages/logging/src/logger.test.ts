import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { REDACTED_PATHS } from "./index.ts";

describe("log redaction", () => {
  it("censors callback tokens and credentials wherever they sit", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, sink);
    log.info({ body: { data: { token: "tok-1", messageId: "m1" } } }, "message");
    log.info({ token: "tok-2", req: { headers: { authorization: "Basic abc" } } }, "room");
    const out = lines.join("");
    expect(out).not.toMatch(/tok-1|tok-2|Basic abc/);
    expect(out).toContain("m1");
    expect(out).toContain("[redacted]");
  });
});
