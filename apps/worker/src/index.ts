export { workerEnv, type WorkerConfig } from "./config.ts";
export { startWorker, type RunningWorker } from "./worker.ts";
export { createEventHandlers, type EventHandlers, type EventHandler, type HandlerContext } from "./event-handlers.ts";
