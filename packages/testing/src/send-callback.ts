import { request } from "node:http";

export interface CallbackAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/**
 * Sends a body with any method, GET included, as curl's `--request GET --data-raw` does (fetch
 * refuses a GET with a body).
 */
export function sendCallback(
  url: string,
  body: string | Buffer,
  method = "POST",
  headers: Record<string, string> = {},
): Promise<CallbackAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
