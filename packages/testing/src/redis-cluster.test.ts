import { createConnection } from "node:net";
import { describe, expect, it } from "vitest";
import { parseClusterNodes, redisClusterUnavailable, startRedisCluster } from "./redis-cluster.ts";

const listens = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => resolve(true) === undefined && socket.destroy());
    socket.once("error", () => resolve(false));
  });

describe("parseClusterNodes", () => {
  it("reads roles, ports and slot ranges, and leaves out failed nodes", () => {
    const nodes = parseClusterNodes(
      [
        "a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460",
        "b2 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922 12000",
        "c3 127.0.0.1:7003@17003 slave a1 0 0 1 connected",
        "d4 127.0.0.1:7004@17004 master,fail - 0 0 3 disconnected",
      ].join("\n"),
    );
    expect(nodes).toEqual([
      { port: 7001, id: "a1", role: "master", slots: [[0, 5460]] },
      {
        port: 7002,
        id: "b2",
        role: "master",
        slots: [
          [5461, 10922],
          [12000, 12000],
        ],
      },
      { port: 7003, id: "c3", role: "replica", slots: [], masterId: "a1" },
    ]);
  });
});

describe.skipIf(redisClusterUnavailable() !== null)("startRedisCluster", () => {
  it("starts 3 masters with 3 replicas that cover every slot, and stops them all", async () => {
    const cluster = await startRedisCluster();
    try {
      expect(cluster.url.split(",")).toHaveLength(6);
      const nodes = await cluster.nodes();
      const masters = nodes.filter((n) => n.role === "master");
      const replicas = nodes.filter((n) => n.role === "replica");
      expect(masters).toHaveLength(3);
      expect(replicas).toHaveLength(3);
      // Every master has exactly one replica.
      expect(new Set(replicas.map((r) => r.masterId))).toEqual(new Set(masters.map((m) => m.id)));
      const covered = masters.flatMap((m) => m.slots).reduce((sum, [from, to]) => sum + to - from + 1, 0);
      expect(covered).toBe(16_384);
      for (const port of cluster.ports) {
        const node = cluster.connectTo(port);
        try {
          expect(String(await node.cluster("INFO"))).toContain("cluster_state:ok");
        } finally {
          node.disconnect();
        }
      }
    } finally {
      await cluster.close();
    }
    for (const port of cluster.ports) expect(await listens(port)).toBe(false);
  });
});
