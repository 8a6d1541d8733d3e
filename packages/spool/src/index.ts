export { Spool, type AppendOutcome, type SpoolBatch, type SpoolOptions, type SpoolState } from "./spool.ts";
export { SpoolDrainer, type SpoolDrainerOptions } from "./spool-drainer.ts";
export type { SpoolRecord } from "./spool-record.ts";
