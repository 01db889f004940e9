// recon-bench's driver for har-to-openapi (npm): loads the package once, converts the HAR
// `warmup` times untimed, then `runs` times timed in the same process. Each timed run parses
// the HAR text, converts it with URL parameterisation and serialises every spec, the same work
// our side does. Prints one JSON object: import and per-run times in ms, and per domain the
// paths of its spec with the methods under each.
// usage: node har_to_openapi.mjs PACKAGE_DIR HAR_FILE RUNS WARMUP
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, harFile, runsArg, warmupArg] = process.argv.slice(2);
const runs = Number.parseInt(runsArg ?? "5", 10);
const warmup = Number.parseInt(warmupArg ?? "1", 10);

const importStarted = performance.now();
const { generateSpecs } = await import(pathToFileURL(join(packageDir, "dist/index.js")).href);
const importMs = performance.now() - importStarted;
const text = readFileSync(harFile, "utf8");

async function convert() {
  const specs = await generateSpecs(JSON.parse(text), { attemptToParameterizeUrl: true });
  let bytes = 0;
  for (const { spec } of specs) {
    bytes += JSON.stringify(spec).length;
  }
  return { specs, bytes };
}

for (let i = 0; i < warmup; i++) {
  await convert();
}
const runMs = [];
let last = null;
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  last = await convert();
  runMs.push(performance.now() - started);
}
const domains = {};
for (const { spec, domain } of last?.specs ?? []) {
  const paths = {};
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    paths[path] = Object.keys(item).filter((key) => !key.startsWith("x-") && key !== "parameters");
  }
  domains[domain ?? ""] = paths;
}
process.stdout.write(JSON.stringify({ import_ms: importMs, run_ms: runMs, spec_bytes: last?.bytes ?? 0, domains }));
