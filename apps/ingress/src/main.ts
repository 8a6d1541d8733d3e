import { runApp } from "@yuju-relay/runtime";
import { ingressEnv } from "./config.ts";
import { startIngress } from "./ingress.ts";

await runApp("ingress", ingressEnv, startIngress);
