// Copies the browser builds of the pinned libraries (package-lock.json) into web/vendor/.
// Run `npm ci && npm run vendor` in console/ after changing a version in package.json.
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = "web/vendor";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const copy = (from, to) => copyFileSync(join("node_modules", from), join(out, to));

// Preact, its hooks and htm in one ES module (html`...` templates, no build step).
copy("htm/preact/standalone.module.js", "preact-htm.js");
// The graphql-transport-ws client: its entry and the shared chunk it imports.
const wsDist = "graphql-ws/dist";
copy(`${wsDist}/client.js`, "graphql-ws.js");
for (const f of readdirSync(join("node_modules", wsDist))) {
  if (/^common-.*\.js$/.test(f)) copy(`${wsDist}/${f}`, f);
}
// Chart.js as a classic script (window.Chart).
copy("chart.js/dist/chart.umd.min.js", "chart.umd.min.js");
const lock = JSON.parse((await import("node:fs")).readFileSync("package-lock.json", "utf8"));
const versions = Object.fromEntries(
  ["htm", "graphql-ws", "chart.js"].map((n) => [n, lock.packages[`node_modules/${n}`].version]),
);
writeFileSync(join(out, "VERSIONS.txt"), Object.entries(versions).map(([n, v]) => `${n} ${v}\n`).join(""));
console.log("vendored", versions);
