import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const benchDir = fileURLToPath(new URL("../", import.meta.url));
/** bench/results/ is gitignored: the bundles live there with the results. */
export const BUILD_DIR = `${benchDir}results/.servers/`;
const SERVERS = ["ingress", "bare-koa", "koa-redis", "worker", "sender"];

// npm packages stay files on disk, as in the production image (bullmq reads its Lua scripts from
// its own folder), imported by absolute path so that they resolve from outside every package.
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "inner" || args.path.startsWith("@yuju-relay/")) return undefined;
      if (args.path.startsWith("node:") || builtinModules.includes(args.path)) return { external: true };
      const found = await esbuild.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: "inner",
      });
      return found.errors.length ? { errors: found.errors } : { path: found.path, external: true };
    });
  },
};

/**
 * Bundles the bench servers the way scripts/build-app.ts bundles the apps for their images: our
 * TypeScript (apps and packages) into one ESM file per server, run by plain `node`. The figures,
 * memory above all, are then those of what is deployed, not of a TypeScript loader.
 */
export async function buildServers(): Promise<void> {
  await build({
    entryPoints: SERVERS.map((name) => `${benchDir}servers/${name}.ts`),
    outdir: BUILD_DIR,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    plugins: [npmPackagesExternal],
  });
}
