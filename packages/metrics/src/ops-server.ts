import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface OpsChecks {
  /** Ready to do its work (for the worker: consuming). A reason when not. */
  ready(): Promise<{ ready: true } | { ready: false; reason: string }>;
}

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `/healthz` (the process answers), `/readyz` (it can do its work) and `/metrics` (Prometheus), on a
 * port of their own: kept off the public callback port, so that queue figures are not exposed to
 * whoever can reach the callback URL.
 */
export async function startOpsServer(
  port: number,
  host: string,
  registry: Registry,
  checks: OpsChecks,
): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: string, type = "application/json") =>
      res.writeHead(status, { "content-type": type }).end(body);
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") return reply(200, '{"status":"ok"}');
    if (path === "/readyz") {
      checks.ready().then(
        (check) =>
          reply(
            check.ready ? 200 : 503,
            JSON.stringify(check.ready ? { status: "ready" } : { status: "unavailable", reason: check.reason }),
          ),
        (error: unknown) => reply(503, JSON.stringify({ status: "unavailable", reason: String(error) })),
      );
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (error: unknown) => reply(500, `# metrics failed: ${String(error)}\n`, "text/plain"),
      );
      return;
    }
    reply(404, '{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
