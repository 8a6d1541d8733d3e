import { describe, expect, it } from "vitest";
import { runRelay } from "./program.ts";

/** Help never touches Redis or the environment: run in-process, as the child process would. */
async function run(argv: string[]) {
  const lines: string[] = [];
  const code = await runRelay(argv, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, output: lines.join("\n") };
}

describe("relay --help", () => {
  it.each([
    ["event", /Usage: relay event \[options\] <id>[\s\S]*--json[\s\S]*Exit codes/],
    ["failed", /Usage: relay failed \[options\][\s\S]*--destination <name>[\s\S]*--since <when>/],
    ["replay", /Usage: relay replay \[options\] \[id\][\s\S]*--as-new[\s\S]*keeps the webhook-id/],
    ["stats", /Usage: relay stats \[options\][\s\S]*oldest waiting/],
    ["pause", /Usage: relay pause \[options\] <destination>/],
    ["resume", /Usage: relay resume \[options\] <destination>/],
    ["config check", /Usage: relay config check \[options\] <file>/],
  ])("relay %s --help describes it and exits 0", async (command, usage) => {
    const { code, output } = await run([...command.split(" "), "--help"]);
    expect(code).toBe(0);
    expect(output).toMatch(usage);
  });

  it("lists every command, and the exit codes", async () => {
    const { code, output } = await run(["--help"]);
    expect(code).toBe(0);
    for (const command of ["event", "failed", "replay", "stats", "pause", "resume", "config"]) {
      expect(output).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    expect(output).toMatch(/Exit codes: 0 ok, 1 not found/);
  });

  it("without a command, shows the help as a usage error (64)", async () => {
    const { code, output } = await run([]);
    expect(code).toBe(64);
    expect(output).toMatch(/Usage: relay/);
  });
});
