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

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test AuthzGrpc.sln -c Release --nologo 2>&1 | tee "$log" || status=$?

# One closing line for the whole suite, summed over the test projects.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
echo "tests: ${passed} passed, ${failed} failed"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "scripts/test.sh: no test ran" >&2
    exit 1
fi
exit "$status"
