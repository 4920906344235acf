#!/usr/bin/env bash
# Builds the optional native peer (better-sqlite3) for the node on PATH, against its own headers
# (npm_config_nodedir, set by the caller for a line fetched with scripts/node-line.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
npm rebuild better-sqlite3 --no-audit --no-fund >/dev/null
