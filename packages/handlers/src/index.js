// Plain JavaScript, with its types in index.d.ts: the worker's image runs bundled code with plain
// node, and a handlers module mounted into it imports this file from node_modules, where node does
// not strip TypeScript types. It does nothing at run time; the worker checks the module's shape.

/** @type {import("./index.d.ts").defineHandlers} */
export function defineHandlers(handlers) {
  return handlers;
}
