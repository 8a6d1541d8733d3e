export * from "./callback-queue.ts";
export { createProducerConnection, createWorkerConnection } from "./connections.ts";
export { EventClaims, type ClaimOutcome } from "./event-claims.ts";
