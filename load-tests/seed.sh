#!/usr/bin/env bash
# Measures the server's first start on a new database seeded with the load harness's data set: how long the seed
# takes (relationships per second), how long until the server is ready, and the process's resident memory during
# the seed and at its peak. Nothing else runs against the server; it is stopped once ready.
#
#   load-tests/seed.sh                         # 100 organizations (~147,000 relationships), SQLite
#   load-tests/seed.sh --orgs 1000             # the benchmarks' 1.47M relationships
#   load-tests/seed.sh --file F                # an existing relationships file (generated once, reused)
#   load-tests/seed.sh --server-dll D          # another build of the server (e.g. a copy of an older commit's)
#   load-tests/seed.sh --restart               # then stops it and starts it again on the seeded database: the restart's
#                                              # time to ready and resident memory (at ready, and its peak)
#   load-tests/seed.sh -- --Authz:Storage:Provider=postgres '--Authz:Storage:ConnectionString=...'
#
# The phases come from the server's own log lines, stamped as they arrive: StorageOpened (migrated) -> StorageSeeded
# (the seed's transaction committed) -> ModelLoadedFromStorage (the engine built from the database) -> ready (the
# harness's wait-ready). Resident memory and CPU time are sampled from /proc every 100 ms; the peak is the kernel's VmHWM.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# shellcheck source=load-tests/common.sh
source load-tests/common.sh

orgs=100
file=""
server_dll=""
restart=0
server_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --orgs) orgs="$2"; shift 2 ;;
        --file) file="$2"; shift 2 ;;
        --server-dll) server_dll="$2"; shift 2 ;;
        --restart) restart=1; shift ;;
        --) shift; server_args+=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "load-tests/seed.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done

if [ -z "$server_dll" ]; then
    dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly src/AuthzGrpc.Server/AuthzGrpc.Server.csproj >/dev/null
    server_dll="$repo_root/src/AuthzGrpc.Server/bin/Release/net10.0/AuthzGrpc.Server.dll"
fi
harness_dll="$repo_root/load-tests/AuthzGrpc.LoadTest/bin/Release/net10.0/AuthzGrpc.LoadTest.dll"
[ -f "$harness_dll" ] || dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly load-tests/AuthzGrpc.LoadTest/AuthzGrpc.LoadTest.csproj >/dev/null

work="$(mktemp -d /tmp/authz-seed-XXXXXX)"
server_pid=""
sampler_pid=""
cleanup() {
    [ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work/.data"
}
trap cleanup EXIT

if [ -z "$file" ]; then
    file="$work/platform.relationships"
    dotnet "$harness_dll" generate-relationships --orgs "$orgs" --out "$file"
fi
lines=$(grep -vc '^//' "$file" || true)

target="http://127.0.0.1:$(free_port)"

# Starts the server in $work (its database there) with its log lines stamped as they arrive into $1, and samples it
# into $2.
start_server() {
    (
        cd "$work"
        exec dotnet "$server_dll" \
            "--Kestrel:Endpoints:Grpc:Url=$target" "--Authz:MetricsUrl=" \
            "--Authz:SchemaFile=$repo_root/models/default.zed" "--Authz:RelationshipsFile=$file" \
            --Logging:LogLevel:Microsoft.AspNetCore=Warning "${server_args[@]}"
    ) > >(while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$1") 2>&1 &
    server_pid=$!

    # "epoch_seconds rss_kib cpu_ticks" every 100 ms while the server runs (cpu: user + system time of the process, in
    # clock ticks, from /proc/PID/stat: on a shared machine the CPU the seed used varies far less than its wall time).
    (
        while [ -r "/proc/$server_pid/status" ]; do
            rss=$(kib "$server_pid" VmRSS 2>/dev/null || true)
            cpu=$(cpu_ticks "$server_pid" 2>/dev/null || true)
            [ -z "$rss" ] || echo "$(date +%s.%N) $rss ${cpu:-0}"
            sleep 0.1
        done
    ) >"$2" &
    sampler_pid=$!
}

start=$(date +%s.%N)
start_server "$work/server.log" "$work/rss.log"

dotnet "$harness_dll" wait-ready --target "$target" --timeout 1800 --pid "$server_pid" >/dev/null
ready=$(date +%s.%N)
peak=$(kib "$server_pid" VmHWM)

# When (epoch seconds) the server wrote the first log line with the given text (each line is stamped as it arrives).
at() {
    grep -m1 -F "$1" "$work/server.log" | cut -d' ' -f1
}
opened=$(at "Opened the")
seeded=$(at "New database: seeded")
loaded=$(at "Loaded the model from storage")
seed_peak=$(awk -v end="$seeded" '$1 <= end && $2 > max { max = $2 } END { print max + 0 }' "$work/rss.log")
# The process's CPU seconds in the seed phase: the last sample by StorageSeeded less the last by StorageOpened.
ticks=$(getconf CLK_TCK)
seed_cpu=$(awk -v from="$opened" -v end="$seeded" -v hz="$ticks" \
    '$1 <= from { a = $3 } $1 <= end { b = $3 } END { printf "%.1f", (b - a) / hz }' "$work/rss.log")

awk -v lines="$lines" -v start="$start" -v opened="$opened" -v seeded="$seeded" -v loaded="$loaded" -v ready="$ready" \
    -v seed_peak="$seed_peak" -v peak="$peak" -v orgs="$orgs" -v seed_cpu="$seed_cpu" 'BEGIN {
    seed = seeded - opened
    printf "relationships in the file:   %d (%s organizations)\n", lines, orgs
    printf "seed (opened -> seeded):     %.1f s, %.0f relationships/s\n", seed, lines / seed
    printf "seed CPU (user + system):    %.1f s, %.0f relationships per CPU second\n", seed_cpu, lines / seed_cpu
    printf "engine load (seeded -> loaded): %.1f s\n", loaded - seeded
    printf "start to ready:              %.1f s\n", ready - start
    printf "peak resident, seed phase:   %.0f MiB\n", seed_peak / 1024
    printf "peak resident, whole start:  %.0f MiB (VmHWM)\n", peak / 1024
}'
echo "server log: $work/server.log; resident samples: $work/rss.log"

if [ "$restart" = 1 ]; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    kill "$sampler_pid" 2>/dev/null || true
    start=$(date +%s.%N)
    start_server "$work/restart.log" "$work/restart-rss.log"
    dotnet "$harness_dll" wait-ready --target "$target" --timeout 1800 --pid "$server_pid" >/dev/null
    ready=$(date +%s.%N)
    resident=$(kib "$server_pid" VmRSS)
    peak=$(kib "$server_pid" VmHWM)
    awk -v start="$start" -v ready="$ready" -v resident="$resident" -v peak="$peak" -v lines="$lines" 'BEGIN {
        printf "restart to ready:            %.1f s\n", ready - start
        printf "resident at ready, restart:  %.0f MiB (%.0f bytes per relationship)\n", resident / 1024, resident * 1024 / lines
        printf "peak resident, restart:      %.0f MiB (VmHWM)\n", peak / 1024
    }'
    echo "restart log: $work/restart.log; resident samples: $work/restart-rss.log"
fi
