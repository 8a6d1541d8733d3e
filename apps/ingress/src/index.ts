export { ingressEnv, type IngressConfig } from "./config.ts";
export { startIngress, type RunningIngress } from "./ingress.ts";
export { CALLBACK_PATHS } from "./app.ts";
