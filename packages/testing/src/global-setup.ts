import type { TestProject } from "vitest/node";
import { startOwnRedis, type TestRedis } from "./redis-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let owned: TestRedis | undefined;

export async function setup(project: TestProject) {
  let url = process.env.REDIS_URL;
  if (!url) {
    owned = await startOwnRedis();
    url = owned.url;
  }
  project.provide("redisUrl", url);
}

export async function teardown() {
  await owned?.close();
}
