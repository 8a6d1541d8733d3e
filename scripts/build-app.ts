/**
 * Production build of one workspace app, as the Docker images run it (see Dockerfile):
 *
 *   tsx scripts/build-app.ts apps/worker /out    →  /out/dist/main.mjs + /out/node_modules
 *
 * The apps and the internal packages export TypeScript source, which plain `node` cannot run, so the
 * app and every @yuju-relay/* package it imports are bundled into one ESM file. npm packages stay
 * external and are installed for real, production dependencies only, at the lockfile's versions:
 * some must stay files on disk (Bull Board reads its UI and views from node_modules/@bull-board/ui,
 * bullmq loads its Lua scripts), and bundling them would hide their licences and versions.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const [appDir, outArg] = process.argv.slice(2);
if (!appDir || !outArg) {
  process.stderr.write("usage: tsx scripts/build-app.ts <workspace dir, e.g. apps/worker> <out dir>\n");
  process.exit(2);
}
const out = resolve(outArg);
const { name } = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")) as { name: string };

rmSync(out, { recursive: true, force: true });
// --legacy: deploy without requiring inject-workspace-packages. A hoisted (flat) node_modules lets the
// bundle import dependencies of the workspace packages it swallowed (pino comes from @yuju-relay/logging).
// --loglevel=error: the warnings it prints are known and harmless (the legacy deploy itself; Bull
// Board's view engine's peer ranges, which lag behind @types/koa 3 and ejs 6), and would bury a real error.
execFileSync(
  "pnpm",
  ["--filter", name, "--prod", "--legacy", "--config.node-linker=hoisted", "--loglevel=error", "deploy", out],
  { stdio: "inherit" },
);

// Never needed at run time: the workspace packages (TS source, now bundled), type packages and
// typescript itself (pulled in as an optional peer of a dependency), the app's own source. One
// workspace package stays: @yuju-relay/handlers is plain JavaScript, and a HANDLERS_MODULE mounted
// into the worker's image imports `defineHandlers` from it.
const workspacePackages = join(out, "node_modules/@yuju-relay");
for (const name of existsSync(workspacePackages) ? readdirSync(workspacePackages) : []) {
  if (name !== "handlers") rmSync(join(workspacePackages, name), { recursive: true, force: true });
}
for (const path of ["node_modules/@types", "node_modules/typescript", "node_modules/.bin", "src"]) {
  rmSync(join(out, path), { recursive: true, force: true });
}
// Type declarations are a tenth of the dependencies' size and never loaded.
execFileSync("find", [
  join(out, "node_modules"),
  "-type",
  "f",
  "-regex",
  String.raw`.*\.d\.[cm]?ts\(\.map\)?`,
  "-delete",
]);

await build({
  entryPoints: [join(appDir, "src/main.ts")],
  outfile: join(out, "dist/main.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "npm-packages-external",
      setup(esbuild) {
        // Bare specifiers other than our own packages: left as imports, resolved from node_modules.
        esbuild.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith("@yuju-relay/") ? undefined : { external: true },
        );
      },
    },
  ],
});
console.log(`built ${name} into ${out}`);
