export { createProgram, runRelay } from "./program.ts";
export { EXIT } from "./exit-codes.ts";
