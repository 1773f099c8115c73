#!/bin/sh
# Create the virtual environment and install PlantOS with its development tools, at the
# exact versions of requirements.lock (checked against their hashes): the install the test
# suite was run with. `make lock` refreshes the lock from pyproject.toml's ranges.
# On a fresh Debian, python3 lacks the venv module: install it (as root, or via sudo).
set -eu
venv="${1:-.venv}"
python="${PYTHON:-python3}"

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "PlantOS needs Python 3.11 or newer; $python is $("$python" --version 2>&1)" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1 && command -v apt-get >/dev/null; then
        ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" \
            || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    fi
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet --require-hashes -r requirements.lock
"$venv/bin/python" -m pip install --quiet --no-deps -e .
