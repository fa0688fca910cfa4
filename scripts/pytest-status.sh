#!/usr/bin/env bash
# scripts/test.sh's exit code from pytest's: pytest-status.sh STATUS SELECTION_GIVEN (1 or 0).
#
# pytest's 5 means "no tests collected". For the whole suite (no selection given) or under CI
# (CI=true) that is a broken run, not a green one: it fails, with pytest's 5. Only a selection
# given by hand outside CI (`bash scripts/test.sh -k nothing`) may match nothing and pass.
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: $0 PYTEST_STATUS SELECTION_GIVEN(1|0)" >&2
  exit 2
fi
status=$1
selection=$2
if [ "$status" != 5 ]; then
  exit "$status"
fi
ci=$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')
if [ "$ci" = true ] || [ "$ci" = 1 ]; then
  echo "error: pytest collected no tests (exit code 5) under CI: a CI run must run tests" >&2
  exit 5
fi
if [ "$selection" != 1 ]; then
  echo "error: pytest collected no tests (exit code 5) for the whole suite" >&2
  exit 5
fi
echo "pytest collected no tests for this selection"
exit 0
