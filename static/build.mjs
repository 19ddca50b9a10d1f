// Bundles static/src/main.js (and the CSS it imports) into static/dist/ with esbuild.
// `node static/build.mjs` builds once (minified, with source maps); `--watch` rebuilds on change.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: { main: path.join(here, "src/main.js") },
  outdir: path.join(here, "dist"),
  bundle: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: !watch,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "info",
  // X6 ships its own CSS as strings injected at run time; nothing else to load.
  loader: { ".css": "css" },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
