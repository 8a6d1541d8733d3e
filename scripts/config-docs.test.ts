import { readFileSync } from "node:fs";
import { cliEnv } from "@yuju-relay/cli";
import { dashboardEnv } from "@yuju-relay/dashboard";
import { ingressEnv } from "@yuju-relay/ingress";
import { workerEnv } from "@yuju-relay/worker";
import { describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README configuration", () => {
  it.each([
    ["ingress", Object.keys(ingressEnv.shape)],
    ["worker", Object.keys(workerEnv.shape)],
    ["dashboard", Object.keys(dashboardEnv.shape)],
    ["relay CLI", Object.keys(cliEnv.shape)],
  ])("documents every variable the %s reads", (_app, variables) => {
    expect(variables).toContain("REDIS_URL");
    // A table row of its own: "| `NAME` | default | meaning |".
    const undocumented = variables.filter((v) => !new RegExp(`^\\|\\s*\`${v}\`\\s*\\|`, "m").test(readme));
    expect(undocumented).toEqual([]);
  });
});
