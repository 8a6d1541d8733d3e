/**
 * `pnpm start` runs the ingress and a worker on one host, and each serves /metrics on its own ops
 * port: the ingress takes OPS_PORT, the worker the next one. 0 stays 0 (each picks a free port and
 * logs it). A value that is not a port goes to both unchanged, so that each app's config names it.
 */
export function opsPortsFor(opsPort: string | undefined): { ingress?: string; worker?: string } {
  if (!opsPort) return {};
  const port = Number(opsPort);
  if (!/^\d+$/.test(opsPort) || port > 65534) return { ingress: opsPort, worker: opsPort };
  return { ingress: String(port), worker: port === 0 ? "0" : String(port + 1) };
}
