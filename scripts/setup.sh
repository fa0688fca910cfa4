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
# uv resolves and installs Prefect's tree in seconds; pip is the fallback. Both leave compiled
# bytecode, so that commands start fast even where PYTHONDONTWRITEBYTECODE is set.
if .venv/bin/python -m pip install -q --disable-pip-version-check "uv>=0.4" 2>/dev/null; then
  .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -e "$spec"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
fi
.venv/bin/python -m compileall -q core plugins flows >/dev/null
