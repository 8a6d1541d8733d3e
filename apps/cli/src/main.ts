#!/usr/bin/env -S node --import tsx
import { runRelay } from "./program.ts";

const code = await runRelay(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: process.stderr,
});
process.exitCode = code;
