import { runApp } from "@yuju-relay/app-lifecycle";
import { ingressEnv } from "./config.ts";
import { startIngress } from "./ingress.ts";

await runApp("ingress", ingressEnv, startIngress);
