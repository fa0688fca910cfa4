#!/usr/bin/env bash
# One command from a fresh clone: set up with the test extra, then run the test suite.
# PostgreSQL tests run when a server answers on 127.0.0.1:5432 (CHELUN_TEST_POSTGRES_URL
# overrides) and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
# pytest's 5 means "no tests collected": a selection that matched nothing is not a failure.
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests"
  exit 0
fi
exit "$status"
