export { runApp, type AppReadyMessage, type RunningApp } from "./run-app.ts";
