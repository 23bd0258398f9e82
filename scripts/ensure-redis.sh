#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (the tests start their own redis-server processes and
# scripts/run.sh starts a local one). Safe to run any number of times.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

echo "redis-server is missing: installing Debian's redis-server package" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq redis-server >/dev/null
# The package starts a system-wide service on 6379; the tests do not use it and scripts/run.sh starts its own
# unless something already answers there.
command -v redis-server >/dev/null
