#!/usr/bin/env bash
# Runs the whole test suite (unit, property, model validation and loopback integration tests).
# Needs only the .NET SDK; installs anything else it needs. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v dotnet >/dev/null 2>&1; then
    echo "scripts/test.sh: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
    exit 1
fi

# The integration tests start their own redis-server, PostgreSQL and nginx processes on free loopback ports; the
# console's browser tests drive Debian's headless Chromium through its chromedriver.
scripts/ensure-packages.sh redis-server postgresql nginx chromium chromium-driver

# The suite starts dozens of short-lived .NET processes (servers, authzctl, test hosts) on a small machine: profile-guided
# re-JIT (TieredPGO) only pays off in a process that runs for minutes, and a server GC per process sizes itself for a
# long-running service. Neither changes what is tested; both cost CPU the suite's time budget needs.
export DOTNET_TieredPGO=0
export DOTNET_gcServer=0

# Built once, then the test projects run in two lanes side by side, one per core: the server's integration tests (the
# longest) in one, every other test project in turn in the other, then a few of the server's own classes, moved there
# to even the lanes out. More at once only makes each slower on two cores.
dotnet build AuthzGrpc.sln -c Release --nologo -v quiet -clp:ErrorsOnly

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
lane() {
    local name=$1 status=0
    shift
    for project in "$@"; do
        # A project, or a project and a filter ("path|filter").
        local filter=()
        if [[ "$project" == *"|"* ]]; then
            filter=(--filter "${project#*|}")
            project=${project%%|*}
        fi
        dotnet test "$project" -c Release --no-build --nologo "${filter[@]}" 2>&1 | sed -u "s/^/[$name] /" | tee -a "$logs/$name.log" || status=1
    done
    return "$status"
}

server=tests/AuthzGrpc.Server.Tests
moved=(RunScriptTests ContainerTests)
others=()
for project in tests/*.Tests; do
    [ "$project" = "$server" ] || others+=("$project")
done
in_others=$(printf '|FullyQualifiedName~AuthzGrpc.Server.Tests.%s' "${moved[@]}")
not_in_others=$(printf '&FullyQualifiedName!~AuthzGrpc.Server.Tests.%s' "${moved[@]}")
others+=("$server|${in_others:1}")
lane server "$server|${not_in_others:1}" & server_lane=$!
status=0
lane others "${others[@]}" || status=1
wait "$server_lane" || status=1

# One closing line for the whole suite, summed over the test projects.
passed=$(cat "$logs"/*.log | grep -oE 'Passed: +[0-9]+' | awk '{s += $2} END {print s + 0}')
failed=$(cat "$logs"/*.log | grep -oE 'Failed: +[0-9]+' | awk '{s += $2} END {print s + 0}')
echo "tests: ${passed} passed, ${failed} failed"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "scripts/test.sh: no test ran" >&2
    exit 1
fi
exit "$status"
