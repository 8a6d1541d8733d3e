import { randomBytes } from "node:crypto";

/** A queue prefix no other test file uses, so that files can share one Redis. */
export const uniquePrefix = (name: string) => `t${name.replace(/[^a-z0-9]/gi, "")}${randomBytes(4).toString("hex")}`;
