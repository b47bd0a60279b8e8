// Makes kiln-http's core module (wasm32-unknown-unknown) a component, as `wasm-tools
// component new` does (jco's build of wasm-tools, from examples/js's npm ci): the module's
// wit-bindgen metadata (the wasip2 crate's wasi:http/proxy bindings) gives its imports, so
// the component imports only the interfaces the code uses. Built for wasm32-wasip2 instead,
// Rust's std would add wasi:cli/environment, exit, terminal-* and random/insecure-seed,
// which are not in the proxy world.
//
//   node bindings-wasi/componentize.mjs CORE.wasm OUT.wasm
import { readFileSync, writeFileSync } from 'node:fs';
import { componentNew } from '../examples/js/node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js';

const [core, out] = process.argv.slice(2);
if (!core || !out) {
  console.error('usage: node bindings-wasi/componentize.mjs CORE.wasm OUT.wasm');
  process.exit(2);
}
writeFileSync(out, await componentNew(readFileSync(core)));
