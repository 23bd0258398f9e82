#!/usr/bin/env bash
# Measures a check replica (Authz:Role=check) on a database of a given size: its resident memory and its Check
# latency with the near cache as configured (scattered checks, then the hot check), with a near cache of the smallest
# size (nearly every record read from Redis: cold), and with no Redis at all (every record read from the database);
# and the writer's and Redis's memory for the same data. Everything runs on 127.0.0.1 in a temporary folder.
#
#   load-tests/check-replica.sh --orgs 7                  # about 10,000 relationships
#   load-tests/check-replica.sh --orgs 1000 --file F      # 1.47M relationships, an existing data set file
#   load-tests/check-replica.sh --near-cache-weight 200000 --requests 100000 --duration 20
#
# Steps: a full replica (the writer) seeds a new SQLite database from the load harness's data set and builds the
# shared graph in Redis (a redis-server of its own); then check replicas start, one at a time, on that database and
# Redis, and the harness drives each with its writer's key. A check replica's memory is sampled from /proc: at ready,
# after the load (VmRSS) and its peak (VmHWM); its near cache's weight and where its checks' records came from are read
# from its Prometheus endpoint. Redis's memory is `used_memory` once the writer has built the graph.
#
# Options (defaults in brackets):
#   --orgs N               organizations in the data set [7]
#   --file F               the data set as a relationships file (generate-relationships --orgs N), reused
#   --near-cache-weight W  Authz:Redis:NearCacheMaxWeight of the measured check replica [200000]
#   --requests N           measured calls per scenario, at most [100000]
#   --duration S           seconds each scenario's measured phase (and its warm-up) may last, at most [20]
#   --warmup N             unmeasured calls before each scenario [20000]
#   --concurrency N        harness calls in flight [16]
#   --fleet N              then start N check replicas at once and drive check-hot through all of them together,
#                          against one of them alone (combined throughput; 0 skips it) [0]
#   --summary F            also write the figures as one line of "key=value" pairs to F
#
# Every loop is bounded in count and time. Needs the .NET 10 SDK and redis-server (scripts/ensure-packages.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=load-tests/common.sh
source load-tests/common.sh
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

orgs=7
file=""
weight=200000
requests=100000
duration=20
warmup=20000
concurrency=16
summary=""
fleet=0
while [ $# -gt 0 ]; do
    case "$1" in
        --orgs) orgs="$2"; shift 2 ;;
        --file) file="$2"; shift 2 ;;
        --near-cache-weight) weight="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --summary) summary="$2"; shift 2 ;;
        --fleet) fleet="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "load-tests/check-replica.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done

scripts/ensure-packages.sh redis-server >/dev/null
dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly src/AuthzGrpc.Server/AuthzGrpc.Server.csproj >/dev/null
dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly load-tests/AuthzGrpc.LoadTest/AuthzGrpc.LoadTest.csproj >/dev/null
server_dll="$repo_root/src/AuthzGrpc.Server/bin/Release/net10.0/AuthzGrpc.Server.dll"
harness=(dotnet "$repo_root/load-tests/AuthzGrpc.LoadTest/bin/Release/net10.0/AuthzGrpc.LoadTest.dll")

work="$(mktemp -d /tmp/authz-check-replica-XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "load-tests/check-replica.sh: failed at line $LINENO (logs in $work, removed on exit)" >&2' ERR
trap 'exit 130' INT TERM

mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
# The value of a Prometheus sample whose line starts with $1 (names and labels as the endpoint prints them).
# awk reads to the end: leaving early could end curl with SIGPIPE, which pipefail would turn into a failed script.
metric() { curl -s --max-time 5 "$metrics" | awk -v name="$1" 'index($0, name) == 1 && !found { print $NF; found = 1 }'; }

if [ -z "$file" ]; then
    file="$work/platform.relationships"
    "${harness[@]}" generate-relationships --orgs "$orgs" --out "$file"
fi
relationships=$(grep -vc '^//' "$file" || true)

redis_port="$(free_port)"
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save '' --appendonly no --daemonize no \
    >"$work/redis.log" 2>&1 &
pids+=($!)
redis=(--Authz:Redis:Configuration=127.0.0.1:"$redis_port")

# Starts the server in $work with the given arguments, logging to $work/$1.log; sets server_pid, target and
# ready_seconds (from the process's start to its health check answering SERVING).
start_server() {
    local name="$1"
    shift
    local port started
    started=$(date +%s.%N)
    port="$(free_port)"
    target="http://127.0.0.1:$port"
    (
        cd "$work"
        exec dotnet "$server_dll" "--Kestrel:Endpoints:Grpc:Url=$target" \
            "--Authz:SchemaFile=$repo_root/models/default.zed" "--Authz:RelationshipsFile=$file" \
            --Logging:LogLevel:Microsoft.AspNetCore=Warning "$@"
    ) >"$work/$name.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    "${harness[@]}" wait-ready --target "$target" --timeout 1800 --pid "$server_pid" >/dev/null
    ready_seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}
stop_server() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
# Runs a harness scenario against $target; prints "calls/s p50 p99" (microseconds).
drive() {
    local out="$work/$1-$2.json"
    "${harness[@]}" run --target "$target" --token-file "$work/.data/bootstrap.key" --orgs "$orgs" --scenario "$2" \
        --requests "$requests" --duration "$duration" --warmup "$warmup" --concurrency "$concurrency" --connections 2 \
        --summary "$out" >"$work/$1-$2.txt" 2>&1 || { cat "$work/$1-$2.txt" >&2; exit 1; }
    echo "$(json_number callsPerSecond "$out") $(json_number p50 "$out") $(json_number p99 "$out")"
}

echo "== writer: seeding $relationships relationships and building the shared graph"
writer_started=$(date +%s.%N)
start_server writer "${redis[@]}" --Authz:MetricsUrl=
writer_pid="$server_pid"
for _ in $(seq 1 600); do
    grep -q "Rebuilt the shared graph in Redis" "$work/writer.log" && break
    sleep 1
done
grep -q "Rebuilt the shared graph in Redis" "$work/writer.log" || { echo "the writer built no shared graph in 600 s" >&2; exit 1; }
writer_seconds=$(awk -v a="$writer_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
writer_rss="$(kib "$writer_pid" VmRSS)"
redis_bytes="$(redis-cli -p "$redis_port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')"

# One check replica: starts it, reads its memory at ready, drives the scenarios, reads its memory and metrics after.
measure_replica() {
    local name="$1" scenarios="$2"
    shift 2
    local metrics_port
    metrics_port="$(free_port)"
    metrics="http://127.0.0.1:$metrics_port/metrics"
    start_server "$name" --Authz:Role=check "--Authz:MetricsUrl=http://127.0.0.1:$metrics_port" "$@"
    local pid="$server_pid" ready_rss
    ready_rss="$(kib "$pid" VmRSS)"
    local line="$name: ready in $ready_seconds s, $(mib "$ready_rss") MiB"
    results+=("${name}_ready_seconds=$ready_seconds")
    for scenario in ${scenarios//,/ }; do
        read -r rate p50 p99 <<<"$(drive "$name" "$scenario")"
        line="$line; $scenario $(printf '%.0f' "$rate")/s p50 ${p50} µs p99 ${p99} µs"
        results+=("${name}_${scenario}_per_second=$(printf '%.0f' "$rate")" "${name}_${scenario}_p50_us=$p50" "${name}_${scenario}_p99_us=$p99")
    done
    local after_rss peak near_weight near_records
    after_rss="$(kib "$pid" VmRSS)"
    peak="$(kib "$pid" VmHWM)"
    near_weight="$(metric authz_cache_near_weight)"
    near_records="$(metric authz_cache_near_records)"
    line="$line; after $(mib "$after_rss") MiB, peak $(mib "$peak") MiB"
    # Without Redis there is no near cache and every record comes from the database: nothing to count.
    if [ -n "$near_weight" ]; then
        line="$line; near cache $near_records records, weight $near_weight; checks from"
        for source in near_cache redis source_of_truth; do
            local count
            count="$(curl -s --max-time 5 "$metrics" | awk -v s="source=\"$source\"" '/^authz_cache_checks/ && index($0, s) { sum += $NF } END { print sum + 0 }')"
            line="$line $source $count"
            results+=("${name}_checks_from_${source}=$count")
        done
    fi
    results+=("${name}_ready_mib=$(mib "$ready_rss")" "${name}_after_mib=$(mib "$after_rss")" "${name}_peak_mib=$(mib "$peak")" "${name}_near_weight=${near_weight:-0}")
    echo "$line"
    stop_server "$pid"
}

results=("relationships=$relationships" "orgs=$orgs" "near_cache_weight=$weight" "writer_mib=$(mib "$writer_rss")"
    "writer_seconds=$writer_seconds" "redis_used_bytes=$redis_bytes" "load_average=$(cut -d' ' -f1 /proc/loadavg)")
echo "relationships: $relationships ($orgs organizations); writer seeded and built the graph in $writer_seconds s, resident $(mib "$writer_rss") MiB; Redis used_memory $(mib $((redis_bytes / 1024))) MiB ($((redis_bytes / relationships)) bytes per relationship)"
measure_replica replica check-scattered,check-hot "${redis[@]}" "--Authz:Redis:NearCacheMaxWeight=$weight"
measure_replica cold check-scattered "${redis[@]}" --Authz:Redis:NearCacheMaxWeight=1000
measure_replica database check-scattered

# N check replicas at once, each driven by its own harness with the same settings, against the first alone. Every
# process shares this machine's cores: the sum shows what adding replicas costs and gains here, not on N machines.
if [ "$fleet" -gt 0 ]; then
    fleet_targets=()
    fleet_pids=()
    for i in $(seq 1 "$fleet"); do
        start_server "fleet$i" --Authz:Role=check "${redis[@]}" "--Authz:Redis:NearCacheMaxWeight=$weight" --Authz:MetricsUrl=
        fleet_targets+=("$target")
        fleet_pids+=("$server_pid")
    done
    target="${fleet_targets[0]}"
    read -r alone _ <<<"$(drive fleet-alone check-hot)"
    harnesses=()
    for i in $(seq 1 "$fleet"); do
        (target="${fleet_targets[$((i - 1))]}"; drive "fleet$i" check-hot >"$work/fleet$i.rate") &
        harnesses+=($!)
    done
    for job in "${harnesses[@]}"; do
        wait "$job" || { echo "load-tests/check-replica.sh: a fleet harness failed" >&2; exit 1; }
    done
    combined=$(cat "$work"/fleet*.rate | awk '{ sum += $1 } END { printf "%.0f", sum }')
    echo "fleet: one check replica alone $(printf '%.0f' "$alone")/s check-hot; $fleet at once $combined/s combined ($(awk -v a="$alone" -v c="$combined" 'BEGIN { printf "%.2f", c / a }')×)"
    results+=("fleet_size=$fleet" "fleet_alone_per_second=$(printf '%.0f' "$alone")" "fleet_combined_per_second=$combined")
    for pid in "${fleet_pids[@]}"; do
        stop_server "$pid"
    done
fi
stop_server "$writer_pid"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$summary" ] || echo "${results[*]}" >"$summary"
