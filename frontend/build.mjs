// Builds ecitizen's front end into src/ecitizen/static/ecitizen/build/ (never committed):
//   main.css               GOV.UK Frontend + ecitizen styles, compressed, with right-to-left rules
//   govuk-frontend.min.js  GOV.UK Frontend's JavaScript (an ES module), as published
//   ecitizen.js            our progressive enhancements (ES module; imports the one above)
//   reports.css            the street-report pages' styles: Leaflet's, then ours
//   reports-map.js         the street-report maps (ES module, needs leaflet/leaflet.js first)
//   leaflet/...            Leaflet (BSD-2-Clause) and its marker images; only pages with a
//                          map load the two scripts
//   images/...             any GOV.UK Frontend image the CSS still references (none today)
//   voting/<name>.js       the voting pages' scripts (js/voting/pages/*.js) and the archive
//                          verifier's Web Worker (js/voting/verify-worker.js), each bundled by
//                          esbuild with the Belenios protocol modules and their npm libraries
//                          into one minified ES module (es2020, no source map)
// No network: everything comes from node_modules (installed by `npm ci`).
//
// Usage: npm run build            (once)
//        npm run watch            (rebuild when scss/ or js/ change)

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { build as esbuild } from "esbuild";
import postcss from "postcss";
import postcssRTLCSS from "postcss-rtlcss";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const govukDist = join(here, "node_modules", "govuk-frontend", "dist");
const leafletDist = join(here, "node_modules", "leaflet", "dist");
const out = resolve(here, "..", "src", "ecitizen", "static", "ecitizen", "build");

// GOV.UK Frontend is written with @import and global functions; those deprecations are theirs
// (and ours only because we configure it through @import), not something we can fix here.
const silenceDeprecations = ["import", "global-builtin", "slash-div", "color-functions", "if-function"];

async function buildCss() {
  const result = sass.compile(join(here, "scss", "main.scss"), {
    loadPaths: [govukDist],
    style: "expanded",
    quietDeps: true,
    silenceDeprecations: silenceDeprecations.filter((id) => id in sass.deprecations),
    sourceMap: false,
  });
  // GOV.UK Frontend is written left-to-right only. postcss-rtlcss adds a mirrored rule under
  // [dir="rtl"] for every direction-dependent declaration (margins, paddings, floats, borders,
  // positions, text-align...), so Arabic pages are laid out right-to-left from the same file.
  const processed = await postcss([
    postcssRTLCSS({ mode: "combined", ltrPrefix: '[dir="ltr"]', rtlPrefix: '[dir="rtl"]', processUrls: false }),
  ]).process(result.css, { from: undefined });
  const css = sass.compileString(processed.css, { style: "compressed", syntax: "css" }).css;

  if (/\bfont\/|\.woff2?\b/.test(css)) {
    throw new Error("main.css references a font file: GDS Transport must not be included");
  }
  // Copy every GOV.UK asset the CSS still references (images only), next to main.css.
  for (const match of css.matchAll(/url\(["']?([^"')]+)["']?\)/g)) {
    const ref = match[1];
    if (ref.startsWith("data:")) continue;
    const source = join(govukDist, "govuk", "assets", ref.replace(/^(\.\.\/)+/, ""));
    const target = join(out, ref.replace(/^(\.\.\/)+/, ""));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
  }
  writeFileSync(join(out, "main.css"), css);
}

function buildJs() {
  // The published bundle ends with a sourceMappingURL comment; the map is not shipped, and
  // Django's manifest storage would fail on a missing one, so the comment goes.
  const govuk = readFileSync(join(govukDist, "govuk", "govuk-frontend.min.js"), "utf8").replace(
    /\n?\/\/# sourceMappingURL=\S+\s*$/,
    "\n",
  );
  writeFileSync(join(out, "govuk-frontend.min.js"), govuk);
  copyFileSync(join(here, "js", "ecitizen.js"), join(out, "ecitizen.js"));
}

// The street-report pages. Leaflet's stylesheet is used as published (not mirrored for
// right-to-left pages: the map's panes are positioned, not laid out), its image URLs pointed
// at the copies in leaflet/images/, followed by our own styles (scss/reports.scss, mirrored
// like main.css).
async function buildMap() {
  const leafletOut = join(out, "leaflet");
  mkdirSync(join(leafletOut, "images"), { recursive: true });
  for (const image of readdirSync(join(leafletDist, "images"))) {
    copyFileSync(join(leafletDist, "images", image), join(leafletOut, "images", image));
  }
  // As for GOV.UK's bundle: the source map is not shipped, so its comment goes.
  const leaflet = readFileSync(join(leafletDist, "leaflet.js"), "utf8").replace(
    /\n?\/\/# sourceMappingURL=\S+\s*$/,
    "\n",
  );
  writeFileSync(join(leafletOut, "leaflet.js"), leaflet);

  const leafletCss = readFileSync(join(leafletDist, "leaflet.css"), "utf8").replace(
    /url\((["']?)images\//g,
    "url($1leaflet/images/",
  );
  const own = sass.compile(join(here, "scss", "reports.scss"), {
    loadPaths: [govukDist],
    style: "expanded",
    quietDeps: true,
    silenceDeprecations: silenceDeprecations.filter((id) => id in sass.deprecations),
    sourceMap: false,
  });
  const ownProcessed = await postcss([
    postcssRTLCSS({ mode: "combined", ltrPrefix: '[dir="ltr"]', rtlPrefix: '[dir="rtl"]', processUrls: false }),
  ]).process(own.css, { from: undefined });
  const css = sass.compileString(`${leafletCss}\n${ownProcessed.css}`, { style: "compressed", syntax: "css" }).css;
  writeFileSync(join(out, "reports.css"), css);
  copyFileSync(join(here, "js", "reports-map.js"), join(out, "reports-map.js"));
}

// The voting scripts (js/voting/): every page script in pages/ and the verifier's Web Worker,
// each bundled with what it imports (protocol.js, trustee.js, verify.js, @noble/hashes,
// @noble/ciphers, bigint-mod-arith) into voting/<name>.js. No page script yet is fine.
const votingDir = join(here, "js", "voting");

function votingEntries() {
  const pagesDir = join(votingDir, "pages");
  const entries = { "verify-worker": join(votingDir, "verify-worker.js") };
  const pages = existsSync(pagesDir) ? readdirSync(pagesDir).filter((name) => name.endsWith(".js")).sort() : [];
  for (const page of pages) {
    const name = page.slice(0, -".js".length);
    if (name in entries) throw new Error(`js/voting/pages/${page} would overwrite voting/${name}.js`);
    entries[name] = join(pagesDir, page);
  }
  return entries;
}

async function buildVoting() {
  await esbuild({
    entryPoints: votingEntries(),
    outdir: join(out, "voting"),
    bundle: true,
    format: "esm",
    target: "es2020",
    platform: "browser",
    minify: true,
    sourcemap: false,
    logLevel: "warning",
  });
}

function builtFiles() {
  const voting = readdirSync(join(out, "voting"))
    .filter((name) => name.endsWith(".js"))
    .sort()
    .map((name) => `voting/${name}`);
  return ["main.css", "govuk-frontend.min.js", "ecitizen.js", "reports.css", "reports-map.js", "leaflet/leaflet.js", ...voting];
}

function report() {
  const names = builtFiles();
  const width = Math.max(24, ...names.map((name) => name.length + 1));
  for (const name of names) {
    const data = readFileSync(join(out, name));
    const gz = gzipSync(data, { level: 9 }).length;
    console.log(`${name.padEnd(width)} ${String(data.length).padStart(7)} B   gzip ${String(gz).padStart(6)} B`);
  }
}

async function build() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await buildCss();
  buildJs();
  await buildMap();
  await buildVoting();
  report();
}

await build();

if (process.argv.includes("--watch")) {
  let timer = null;
  const rebuild = () => {
    clearTimeout(timer);
    timer = setTimeout(() => build().catch((error) => console.error(error.message)), 100);
  };
  for (const dir of ["scss", "js"]) watch(join(here, dir), { recursive: true }, rebuild);
  console.log("Watching scss/ and js/ ...");
}
