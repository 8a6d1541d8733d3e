import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { freePort } from "./free-port.ts";

export interface TestRedisCluster {
  /** Every node, comma-separated, as REDIS_URL takes them with REDIS_CLUSTER=true. */
  url: string;
  close(): Promise<void>;
}

/** redis-server and redis-cli on the PATH (Debian's redis-server brings both). */
export const canStartRedisCluster = () =>
  !spawnSync("redis-server", ["--version"]).error && !spawnSync("redis-cli", ["--version"]).error;

/** A real three-master Redis Cluster on free loopback ports, no persistence. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "yuju-cluster-"));
  const ports = [await freePort(), await freePort(), await freePort()];
  const nodes: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    ),
  );
  const close = async () => {
    await Promise.all(
      nodes.map((node) =>
        node.exitCode !== null
          ? undefined
          : new Promise<void>((resolve) => node.once("exit", () => resolve()).kill("SIGKILL")),
      ),
    );
  };
  try {
    const create = () =>
      spawnSync(
        "redis-cli",
        ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
        {
          encoding: "utf8",
          timeout: 20_000,
        },
      );
    let created = create();
    // The nodes may not listen yet: retry the creation for a few seconds.
    for (let i = 0; i < 50 && created.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      created = create();
    }
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    const client = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      for (let i = 0; i < 100; i++) {
        const info = String(await client.cluster("INFO"));
        if (info.includes("cluster_state:ok")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.disconnect();
    }
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(","), close };
  } catch (error) {
    await close();
    throw error;
  }
}
