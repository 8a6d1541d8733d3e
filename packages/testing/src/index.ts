export { freePort } from "./free-port.ts";
export {
  startOwnRedis,
  startPersistentRedis,
  startRedisServerBinary,
  type FreezableRedis,
  type TestRedis,
} from "./redis-server.ts";
export { loadFixtures, loadSeedExamples, type Fixture } from "./fixtures.ts";
export { startReceiver, type Receiver, type ReceivedDelivery } from "./receiver.ts";
export { eventually } from "./eventually.ts";
export { uniquePrefix } from "./unique-prefix.ts";
export { sendCallback, type CallbackAnswer } from "./send-callback.ts";
export { spawnApp, type AppProcess } from "./app-process.ts";
export { runCommand, type CommandResult } from "./run-command.ts";
export {
  canStartRedisCluster,
  parseClusterNodes,
  redisClusterUnavailable,
  startRedisCluster,
  type ClusterNode,
  type TestRedisCluster,
} from "./redis-cluster.ts";
export { memberLeftCallback, messageCallback, type MessageShape } from "./callback-bodies.ts";
export { TEST_SIGNING_SECRET } from "./signing-secret.ts";
export { startMockPlatform, type MockPlatform, type PlatformCall, type PlatformMode } from "./mock-platform.ts";
export { mountSmallFileSystem, smallFileSystemUnavailable, type SmallFileSystem } from "./small-file-system.ts";
