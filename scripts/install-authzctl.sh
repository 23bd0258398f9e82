#!/usr/bin/env bash
# Installs authzctl, or updates it, as a .NET tool built from this repository: packs src/AuthzGrpc.Cli into a local
# package folder and installs that package with `dotnet tool update` (which installs when it is missing), so running it
# twice is safe. Each run packs a new version (0.1.0-local.<UTC time>): NuGet caches a package by id and version, so
# reusing one would install the cached, older build.
#
# Usage: scripts/install-authzctl.sh [--tool-path DIR]
#   default: a global tool, in ~/.dotnet/tools; --tool-path DIR: into DIR instead (no PATH change needed for scripts).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/src/AuthzGrpc.Cli/AuthzGrpc.Cli.csproj"
feed="$root/src/AuthzGrpc.Cli/obj/package"
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
tool_path=""

while [ $# -gt 0 ]; do
    case "$1" in
        --tool-path)
            [ $# -ge 2 ] || { echo "--tool-path needs a folder" >&2; exit 2; }
            tool_path="$2"
            shift 2
            ;;
        -h|--help)
            sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $1 (see --help)" >&2
            exit 2
            ;;
    esac
done

# Only the package of this run in the folder, so that the install cannot pick an older one.
mkdir -p "$feed"
rm -f "$feed"/authzctl.*.nupkg
echo "packing authzctl $version ..."
dotnet pack "$project" -c Release -p:Version="$version" -o "$feed" --nologo -v quiet

if [ -n "$tool_path" ]; then
    mkdir -p "$tool_path"
    where=(--tool-path "$tool_path")
    bin="$(cd "$tool_path" && pwd)"
else
    where=(--global)
    bin="${DOTNET_CLI_HOME:-$HOME}/.dotnet/tools"
fi

dotnet tool update "${where[@]}" --add-source "$feed" --version "$version" authzctl
echo "authzctl $version is in $bin"
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "add it to PATH, e.g. in ~/.bashrc: export PATH=\"\$PATH:$bin\"" ;;
esac
