import { isIP } from "node:net";

export interface ClientAddress {
  /** The address as compared and logged: `1.2.3.4`, never `::ffff:1.2.3.4`. */
  address: string;
  family: "ipv4" | "ipv6";
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d+)?$/;

/**
 * The caller's address in one form whatever the socket or a proxy made of it: an IPv4 client of a
 * dual-stack listener appears as `::ffff:1.2.3.4`, and some proxies write `1.2.3.4:5678` or
 * `[2001:db8::1]:443` in X-Forwarded-For. Null for anything that is not an address.
 */
export function normalizeAddress(raw: string | undefined): ClientAddress | null {
  if (!raw) return null;
  let value = raw.trim();
  value = BRACKETED_IPV6.exec(value)?.[1] ?? IPV4_WITH_PORT.exec(value)?.[1] ?? value;
  value = IPV4_MAPPED.exec(value)?.[1] ?? value;
  // A zone index (fe80::1%eth0) names the interface, not the peer.
  const zone = value.indexOf("%");
  if (zone >= 0) value = value.slice(0, zone);
  const version = isIP(value);
  if (version === 4) return { address: value, family: "ipv4" };
  if (version === 6) return { address: value.toLowerCase(), family: "ipv6" };
  return null;
}
