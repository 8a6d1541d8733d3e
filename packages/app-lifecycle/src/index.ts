export { runApp, type AppReadyMessage, type RunningApp } from "./run-app.ts";
export { withDeadline } from "./deadline.ts";
