import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnApp } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { TEST_SIGNING_SECRET } from "@yuju-relay/testing";

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

  it("worker: a bad RELAY_CONFIG file, naming the path inside it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-exit-"));
    const file = join(dir, "relay.yaml");
    writeFileSync(
      file,
      [
        "destinations:",
        "  - name: crm",
        "    url: https://crm.example.com",
        "    secret: ${CRM_SECRET}",
        "  - name: tickets",
        "    url: https://tickets.example.com",
        "    secret: ${CRM_SECRET}",
        "    filter:",
        "      kinds: [txt]",
        "",
      ].join("\n"),
    );
    const child = spawnApp("worker", {
      REDIS_URL: "redis://127.0.0.1:9",
      RELAY_CONFIG: file,
      CRM_SECRET: TEST_SIGNING_SECRET,
    });
    expect(await child.exited).toBe(78);
    const output = child.logs.map((l) => String(l.msg)).join("\n");
    expect(output).toMatch(/destinations\[1\]\.filter\.kinds\[0\]: unknown kind "txt"/);
    expect(output).not.toContain("MfKQ9r8G");
  });

  it("worker: a HANDLERS_MODULE of the wrong shape", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-exit-"));
    const file = join(dir, "handlers.mjs");
    writeFileSync(file, 'export default { "message.recieved": async () => {} };\n');
    const child = spawnApp("worker", { REDIS_URL: "redis://127.0.0.1:9", HANDLERS_MODULE: file });
    expect(await child.exited).toBe(78);
    expect(child.logs.map((l) => String(l.msg)).join("\n")).toMatch(/message\.recieved: not an event type/);
  });
});
