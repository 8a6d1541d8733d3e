import { spawnApp } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";

describe("a bad configuration stops the app, naming the variable", () => {
  it.each([
    ["ingress", { PORT: "eighty" }, /PORT:/],
    ["worker", { FORWARD_URL: "http://127.0.0.1:9/events" }, /FORWARD_SECRET: is required when FORWARD_URL is set/],
    ["dashboard", {}, /DASHBOARD_PASSWORD: is required/],
  ])("%s", async (app, env, message) => {
    const child = spawnApp(app, { REDIS_URL: "redis://127.0.0.1:9", ...env });
    expect(await child.exited).toBe(78);
    expect(child.logs.map((l) => String(l.msg)).join("\n")).toMatch(message);
  });

  it("never echoes the value of a bad variable", async () => {
    const child = spawnApp("ingress", { REDIS_URL: "http://user:hunter2@example" });
    expect(await child.exited).toBe(78);
    const output = child.logs.map((l) => String(l.msg)).join("\n");
    expect(output).toMatch(/REDIS_URL:/);
    expect(output).not.toContain("hunter2");
  });
});
