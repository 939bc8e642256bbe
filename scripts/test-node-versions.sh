#!/usr/bin/env bash
# Runs the built test suite (build/test) on other Node majors, each fetched once from the npm
# registry by scripts/fetch-node.sh (cached under $TRACEMALLOC_NODE_CACHE, default
# ~/.cache/tracemalloc/node). Prints each version's counts; fails if any version fails.
# Usage: scripts/test-node-versions.sh 22 24 26   (after `npm run build && npm run build:test`)
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for major in "$@"; do
  node_bin=$(scripts/fetch-node.sh "$major")
  log=$(mktemp)
  echo "== Node $("$node_bin" --version)"
  if "$node_bin" --test --test-reporter=spec build/test/*.test.js >"$log" 2>&1; then
    grep -E '^ℹ (tests|pass|fail|skipped)' "$log" | tr '\n' ' '; echo
  else
    status=1
    grep -E '^ℹ (tests|pass|fail)' "$log"
    # Each failing test with its error (message, values, stack), so a flake seen once can be read.
    sed -n '/^✖ failing tests:/,$p' "$log" | head -120
    echo "Node $major: the suite FAILED (full log above is cut; rerun: $node_bin --test build/test/*.test.js)"
  fi
  rm -f "$log"
done
exit $status
