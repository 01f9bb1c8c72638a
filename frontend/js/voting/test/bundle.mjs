// Bundles an entry point the way frontend/build.mjs builds the voting scripts (esbuild, ES
// module, es2020, minified, for browsers), so that the tests can run the shipped form.
// Usage: node bundle.mjs ENTRY OUTFILE

import { build } from "esbuild";

const [entry, outfile] = process.argv.slice(2);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "esm",
  target: "es2020",
  platform: "browser",
  minify: true,
  sourcemap: false,
  logLevel: "error",
});
