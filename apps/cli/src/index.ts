export { createProgram, runRelay } from "./program.ts";
export { EXIT } from "./exit-codes.ts";
export type { Output } from "./output.ts";
export { cliEnv } from "./cli-env.ts";
