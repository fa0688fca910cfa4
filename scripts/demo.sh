#!/usr/bin/env bash
# One command from a fresh clone: set up, then run the demo on the embedded database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/chelun demo "$@"
