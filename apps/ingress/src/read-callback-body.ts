import type { IncomingMessage } from "node:http";
import getRawBody from "raw-body";

export type BodyOutcome = { ok: true; text: string } | { ok: false; status: 400 | 413; error: string };

/**
 * Reads the body whatever the method: the platform documents the message callback as GET with a
 * JSON body, which ordinary body parsers skip. Content-Type is not trusted either: the body is
 * parsed as JSON whatever it says.
 */
export async function readCallbackBody(req: IncomingMessage, limit: number): Promise<BodyOutcome> {
  try {
    const length = req.headers["content-length"];
    const text = await getRawBody(req, { limit, length: length === undefined ? null : length, encoding: "utf8" });
    return { ok: true, text };
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === "entity.too.large") return { ok: false, status: 413, error: `body larger than ${limit} bytes` };
    return { ok: false, status: 400, error: `could not read the body (${type ?? "read error"})` };
  }
}
