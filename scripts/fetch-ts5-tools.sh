#!/usr/bin/env bash
# Installs the TypeScript 5 tools of the source-map matrix (test/sourcemap-matrix.test.ts) once,
# into build/tools/ts5/node_modules, and prints that directory. They cannot be devDependencies:
# ts-jest 29 declares typescript <7 as a peer (npm refuses to install it beside typescript 7), and
# a `typescript5` alias would take over node_modules/.bin/tsc from typescript 7. Packages the
# tools leave to their peers (jest-util, @jest/transform, ...) resolve to the project's own, from
# the node_modules above build/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/build/tools/ts5"
specs=(typescript@5.9.3 ts-node@10.9.2 ts-jest@29.4.15)
stamp="$dir/.installed-$(echo "${specs[*]}" | tr ' @/' '_+-')"
if [ ! -f "$stamp" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"name":"tracemalloc-ts5-tools","private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-save --no-audit --no-fund --legacy-peer-deps --ignore-scripts --loglevel=error "${specs[@]}" >/dev/null)
  touch "$stamp"
fi
echo "$dir/node_modules"
