#!/usr/bin/env bash
# Installs those of the named Debian packages that are missing, in one apt-get call:
#   redis-server  (scripts/run.sh starts a local one; the tests start their own on free loopback ports)
#   postgresql    (the tests start their own clusters with initdb on free loopback ports)
#   nginx         (the compose stack test puts its own in front of two replicas)
#   chromium, chromium-driver  (the console's browser tests drive a headless Chromium through chromedriver)
# Their system services are not used. Safe to run any number of times.
set -euo pipefail

installed() {
    case "$1" in
        postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ;;
        nginx) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ;;
        chromium-driver) command -v chromedriver >/dev/null 2>&1 ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing=()
for package in "$@"; do
    installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "missing: ${missing[*]}: installing Debian's packages" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
for package in "${missing[@]}"; do
    installed "$package"
done
