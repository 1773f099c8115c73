#!/bin/sh
# Refresh requirements.lock: the exact versions, with hashes, that `make setup` installs.
#
# pyproject.toml keeps compatible ranges; this resolves them for Python 3.11 on Linux
# x86_64 from PyPI alone (local pip settings such as extra indexes or find-links are
# ignored, so the lock names no machine's files). Versions already in the lock are kept
# while they still satisfy pyproject.toml; UPGRADE=1 moves every package to its newest
# allowed release; PREFER_INSTALLED=1 takes a package the lock does not pin yet at the
# version installed in this environment (the one the tests ran with), where it fits.
# Run the test suite after a refresh: it is the judge of a new lock.
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

if [ "${PREFER_INSTALLED:-0}" = 1 ]; then
    # pip-compile keeps the pins it finds in its output file when they fit: add the
    # installed version of every package the lock does not name yet.
    touch "$lock"
    "$python" -m pip freeze --exclude-editable 2>/dev/null | "$python" -c '
import re, sys
lock = sys.argv[1]
name = lambda line: re.split(r"[=<>~! ;@\[]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
with open(lock) as f:
    pinned = {name(l) for l in f if l[:1].isalnum()}
extra = [l.strip() for l in sys.stdin if "==" in l and name(l) not in pinned]
with open(lock, "a") as f:
    f.writelines(l + "\n" for l in extra)
' "$lock"
fi

env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
    PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
    "$python" -m piptools compile --quiet $upgrade \
    --generate-hashes --allow-unsafe --strip-extras --extra dev \
    --index-url https://pypi.org/simple --no-emit-index-url --no-emit-find-links \
    --output-file "$lock" pyproject.toml
