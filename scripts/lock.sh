#!/bin/sh
# Refresh requirements.lock: the exact versions, with hashes, that `make setup` installs.
#
# pyproject.toml keeps compatible ranges; this resolves them for Python 3.11 on Linux
# x86_64 from PyPI alone (local pip settings such as extra indexes or find-links are
# ignored, so the lock names no machine's files). Versions already in the lock are kept
# while they still satisfy pyproject.toml; UPGRADE=1 moves every package to its newest
# allowed release. Run the test suite after a refresh: it is the judge of a new lock.
set -eu
python="${PYTHON:-.venv/bin/python}"
lock="${LOCK:-requirements.lock}"

"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
    echo "the lock is resolved for Python 3.11; $python is $("$python" --version 2>&1)" >&2
    exit 1
}
"$python" -c 'import piptools' 2>/dev/null || "$python" -m pip install --quiet "pip-tools>=7.4"

upgrade=""
if [ "${UPGRADE:-0}" = 1 ]; then upgrade="--upgrade"; fi

env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
    PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
    "$python" -m piptools compile --quiet $upgrade \
    --generate-hashes --allow-unsafe --strip-extras --extra dev \
    --index-url https://pypi.org/simple --no-emit-index-url --no-emit-find-links \
    --output-file "$lock" pyproject.toml
