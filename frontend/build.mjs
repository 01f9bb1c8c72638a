// Builds ecitizen's front end into src/ecitizen/static/ecitizen/build/ (never committed):
//   main.css               GOV.UK Frontend + ecitizen styles, compressed, with right-to-left rules
//   govuk-frontend.min.js  GOV.UK Frontend's JavaScript (an ES module), as published
//   ecitizen.js            our progressive enhancements (ES module; imports the one above)
//   reports.css            the street-report pages' styles: Leaflet's, then ours
//   reports-map.js         the street-report maps (ES module, needs leaflet/leaflet.js first)
//   leaflet/...            Leaflet (BSD-2-Clause) and its marker images; only pages with a
//                          map load the two scripts
//   images/...             any GOV.UK Frontend image the CSS still references (none today)
// No network: everything comes from node_modules (installed by `npm ci`).
//
// Usage: npm run build            (once)
//        npm run watch            (rebuild when scss/ or js/ change)

import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

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

function report() {
  for (const name of ["main.css", "govuk-frontend.min.js", "ecitizen.js", "reports.css", "reports-map.js", "leaflet/leaflet.js"]) {
    const data = readFileSync(join(out, name));
    const gz = gzipSync(data, { level: 9 }).length;
    console.log(`${name.padEnd(24)} ${String(data.length).padStart(7)} B   gzip ${String(gz).padStart(6)} B`);
  }
}

async function build() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await buildCss();
  buildJs();
  await buildMap();
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
