#!/usr/bin/env bash
# Create .venv and install chelun into it (editable), with the extras named in $1 (e.g. "test").
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
extras=${1:-}
spec="."
[ -n "$extras" ] && spec=".[$extras]"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# uv resolves and installs Prefect's tree in seconds; pip is the fallback.
if .venv/bin/python -m pip install -q --disable-pip-version-check "uv>=0.4" 2>/dev/null; then
  .venv/bin/uv pip install -q --python .venv/bin/python -e "$spec"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
fi
