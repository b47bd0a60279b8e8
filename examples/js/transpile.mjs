// Transpiles a WebAssembly component into an ES module with jco (the transpile step of
// `jco transpile`, from @bytecodealliance/jco-transpile): kiln's kernel component becomes
// OUT_DIR/kiln.js (+ kiln.core.wasm, kiln.d.ts), exporting `api`: run, check, describe
// and the streaming Session.
//
//   kiln export-kernel kiln-kernel.wasm
//   node transpile.mjs kiln-kernel.wasm kiln-js
import { transpile, writeFiles } from '@bytecodealliance/jco-transpile';

const [component, outDir] = process.argv.slice(2);
if (!component || !outDir) {
  console.error('usage: node transpile.mjs COMPONENT.wasm OUT_DIR');
  process.exit(2);
}
const { files, imports, exports } = await transpile(component, {
  name: 'kiln',
  outDir,
  // A kiln error is thrown as jco's ComponentError, the WIT `error` record in its payload.
  noComponentErrorWrapping: false,
});
await writeFiles(files);
console.error(`${outDir}/kiln.js: exports ${exports.map(([n]) => n).join(', ')}; imports ${imports.length}`);
