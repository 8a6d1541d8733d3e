import { withDeadline } from "@yuju-relay/app-lifecycle";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/**
 * Ready to do its work (for the worker: consuming), or a reason when not. `details` go into the
 * answer's body as they are (the ingress's Redis and spool states).
 */
export type ReadinessCheck = ({ ready: true } | { ready: false; reason: string }) & {
  details?: Record<string, unknown>;
};

export interface OpsChecks {
  ready(): Promise<ReadinessCheck>;
}

/**
 * The longest a readiness answer may take, whatever the check awaits: under a probe's default
 * timeout (1 s in Kubernetes), so that a probe always gets an answer that says why.
 */
export const READINESS_DEADLINE_MS = 900;

/** Runs a readiness check, bounded: a check that throws or hangs is "not ready", with its reason. */
export async function boundedReadiness<Check extends ReadinessCheck>(checks: {
  ready(): Promise<Check>;
}): Promise<Check | { ready: false; reason: string; details?: undefined }> {
  return withDeadline(
    checks
      .ready()
      .catch((error: unknown) => ({ ready: false as const, reason: `readiness check failed: ${String(error)}` })),
    READINESS_DEADLINE_MS,
    () => ({ ready: false as const, reason: `readiness check did not finish within ${READINESS_DEADLINE_MS}ms` }),
  );
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
      void boundedReadiness(checks).then((check) =>
        reply(
          check.ready ? 200 : 503,
          JSON.stringify(
            check.ready
              ? { status: "ready", ...check.details }
              : { status: "unavailable", reason: check.reason, ...check.details },
          ),
        ),
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
