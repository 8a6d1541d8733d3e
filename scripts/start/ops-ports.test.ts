import { describe, expect, it } from "vitest";
import { opsPortsFor } from "./ops-ports.ts";

describe("opsPortsFor (pnpm start's ops ports)", () => {
  it("gives the ingress OPS_PORT and the worker the next port", () => {
    expect(opsPortsFor("9464")).toEqual({ ingress: "9464", worker: "9465" });
  });
  it("keeps 0: each app picks a free port", () => {
    expect(opsPortsFor("0")).toEqual({ ingress: "0", worker: "0" });
  });
  it("sets none when OPS_PORT is unset or empty", () => {
    expect(opsPortsFor(undefined)).toEqual({});
    expect(opsPortsFor("")).toEqual({});
  });
  it("passes a bad value to both apps, whose config rejects it by name", () => {
    expect(opsPortsFor("metrics")).toEqual({ ingress: "metrics", worker: "metrics" });
  });
});
