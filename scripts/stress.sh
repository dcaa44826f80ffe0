#!/usr/bin/env bash
# The daemon tests, ROUNDS times in a row under `pytest -n 2`, while a CPU-bound process
# competes for the cores (issue 14: correctness must not depend on the machine's speed).
# Stops at the first failing round. Usage: scripts/stress.sh [ROUNDS] [pytest args...]
set -euo pipefail
rounds=${1:-20}
shift || true
tests=("${@:-tests/test_daemon.py}")
python=${PYTHON:-.venv/bin/python}

"$python" -c "while True: pass" &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT

for round in $(seq 1 "$rounds"); do
    start=$SECONDS
    if ! "$python" -m pytest -q -n 2 -p no:cacheprovider "${tests[@]}" > stress-round.log 2>&1; then
        echo "round $round of $rounds FAILED (stress-round.log):"
        tail -n 30 stress-round.log
        exit 1
    fi
    echo "round $round of $rounds passed in $((SECONDS - start)) s: $(tail -n 1 stress-round.log)"
done
rm -f stress-round.log
echo "all $rounds rounds passed with a CPU hog running"
