import { BlockList, isIP } from "node:net";
import type { ClientAddress } from "./client-address.ts";
import { normalizeAddress } from "./client-address.ts";

/**
 * CALLBACK_ALLOWED_IPS: the addresses and networks callbacks may come from, IPv4 and IPv6, as a
 * node:net BlockList (used here as an allow list: `check` is a membership test).
 */
export class AddressAllowlist {
  private constructor(
    private readonly list: BlockList,
    readonly entries: readonly string[],
  ) {}

  /**
   * Reads `10.0.0.0/8, 203.0.113.7, 2001:db8::/32`. Each entry that is neither an address nor a
   * CIDR is a problem, named by its position and text (an address is not a secret).
   */
  static parse(text: string): { allowlist: AddressAllowlist; problems: string[] } {
    const list = new BlockList();
    const entries: string[] = [];
    const problems: string[] = [];
    text
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean)
      .forEach((entry, index) => {
        const problem = addEntry(list, entry);
        if (problem) problems.push(`entry ${index + 1} (${JSON.stringify(entry)}) ${problem}`);
        else entries.push(entry);
      });
    if (entries.length === 0 && problems.length === 0) problems.push("lists no address");
    return { allowlist: new AddressAllowlist(list, entries), problems };
  }

  allows(client: ClientAddress | null): boolean {
    return client !== null && this.list.check(client.address, client.family);
  }
}

function addEntry(list: BlockList, entry: string): string | null {
  const slash = entry.indexOf("/");
  const base = normalizeAddress(slash < 0 ? entry : entry.slice(0, slash));
  if (!base || isIP(slash < 0 ? entry : entry.slice(0, slash)) === 0) {
    return "is not an IPv4 or IPv6 address, nor a CIDR such as 10.0.0.0/8";
  }
  if (slash < 0) {
    list.addAddress(base.address, base.family);
    return null;
  }
  const prefixText = entry.slice(slash + 1);
  const prefix = Number(prefixText);
  const max = base.family === "ipv4" ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `has a prefix length that is not 0 to ${max}`;
  list.addSubnet(base.address, prefix, base.family);
  return null;
}
