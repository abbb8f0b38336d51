#!/usr/bin/env bash
# `npm test`: setup, typecheck, unit tests, end-to-end tests. Runs every step, then fails if any did.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }

results=build/test-results
mkdir -p "$results"
rm -f "$results"/*.json
status=0
steps=()

if npx tsc --noEmit; then steps+=("typecheck ok"); else steps+=("typecheck FAILED"); status=1; fi

for project in unit e2e; do
  if npx vitest run --project "$project" --reporter=default --reporter=json --outputFile.json="$results/$project.json"; then
    steps+=("$project ok")
  else
    steps+=("$project FAILED")
    status=1
  fi
done

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const p of ["unit", "e2e"]) {
    try {
      const r = JSON.parse(fs.readFileSync(`build/test-results/${p}.json`, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch { console.log(`(no results for ${p})`); }
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
'
echo "test: ${steps[*]}"
exit $status
