#!/bin/sh
# Debian packages the test suite drives for real: Chromium for browser tests,
# Mosquitto for MQTT tests, Node.js and npm for the OPC UA server of another stack
# (node-opcua). Installed only when missing.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "please install:$missing (tests needing them will be skipped)" >&2
    exit 0
fi
echo "installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "not root and no sudo: cannot install$missing (tests needing them will be skipped)" >&2
    exit 0
fi
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
