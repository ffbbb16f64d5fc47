// Parses each HCL file named on the command line with HashiCorp's HCL parser
// (npm @cdktf/hcl2json, the Go parser compiled to wasm) and prints one JSON object
// per file: {"file": ..., "ok": true, "json": ...} or {"file": ..., "ok": false,
// "error": ...}. Exits 1 if any file failed to parse, so a caller cannot miss it.
"use strict";
const fs = require("fs");
const path = require("path");
const { parse } = require(path.join(__dirname, "node_modules", "@cdktf", "hcl2json"));

async function main() {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const text = fs.readFileSync(file, "utf8");
    try {
      const json = await parse(path.basename(file), text);
      process.stdout.write(JSON.stringify({ file, ok: true, json }) + "\n");
    } catch (e) {
      failed = true;
      process.stdout.write(JSON.stringify({ file, ok: false, error: String(e) }) + "\n");
    }
  }
  process.exit(failed ? 1 : 0);
}
main();
