import { describe, expect, it } from "vitest";
import { AddressAllowlist } from "./address-allowlist.ts";
import { normalizeAddress } from "./client-address.ts";

describe("normalizeAddress", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7", "ipv4"],
    ["::ffff:203.0.113.7", "203.0.113.7", "ipv4"],
    ["::FFFF:203.0.113.7", "203.0.113.7", "ipv4"],
    ["203.0.113.7:5678", "203.0.113.7", "ipv4"],
    ["[2001:DB8::1]:443", "2001:db8::1", "ipv6"],
    ["fe80::1%eth0", "fe80::1", "ipv6"],
    [" 2001:db8::1 ", "2001:db8::1", "ipv6"],
  ])("%s is %s", (raw, address, family) => expect(normalizeAddress(raw)).toEqual({ address, family }));

  it.each([undefined, "", "unknown", "203.0.113", "300.1.1.1", "example.com"])("%s is no address", (raw) =>
    expect(normalizeAddress(raw)).toBeNull(),
  );
});

describe("AddressAllowlist", () => {
  const { allowlist, problems } = AddressAllowlist.parse(
    "203.0.113.0/24, 198.51.100.7, 2001:db8::/32, ::ffff:192.0.2.1",
  );
  const allows = (raw: string) => allowlist.allows(normalizeAddress(raw));

  it("matches addresses and CIDRs of both families, an IPv4-mapped caller as its IPv4 address", () => {
    expect(problems).toEqual([]);
    expect(
      ["203.0.113.255", "::ffff:203.0.113.1", "198.51.100.7", "2001:db8:ffff::1", "192.0.2.1"].map(allows),
    ).toEqual([true, true, true, true, true]);
    expect(["203.0.114.1", "198.51.100.8", "2001:db9::1", "::1", "garbage"].map(allows)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("names each bad entry by position, and an empty list", () => {
    expect(AddressAllowlist.parse("10.0.0.0/33, host.example, 2001:db8::/129").problems).toEqual([
      'entry 1 ("10.0.0.0/33") has a prefix length that is not 0 to 32',
      'entry 2 ("host.example") is not an IPv4 or IPv6 address, nor a CIDR such as 10.0.0.0/8',
      'entry 3 ("2001:db8::/129") has a prefix length that is not 0 to 128',
    ]);
    expect(AddressAllowlist.parse(" , ").problems).toEqual(["lists no address"]);
  });
});
