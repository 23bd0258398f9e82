#!/usr/bin/env bash
# End-to-end load test: builds Release, generates the platform data set (load-tests/AuthzGrpc.LoadData), starts a
# throwaway server seeded with it on a free 127.0.0.1 port and its own temporary data folder, runs the harness
# scenarios and an h2load scenario against it, stops the server, and prints where the results went.
#
#   load-tests/run.sh                          # 100 organizations (~147,000 relationships), every scenario
#   load-tests/run.sh --orgs 1000              # the benchmarks' 1.47M relationships (the seed takes several minutes)
#   load-tests/run.sh --scenarios check-hot,at-least --requests 20000 --duration 15
#   load-tests/run.sh -- --Authz:SyncIntervalMilliseconds=100      # extra server arguments after --
#   load-tests/run.sh --floor-matrix --scenarios '' --h2load-requests 20000    # Check against the floor server only
#   Authz__Some__Setting=value load-tests/run.sh                   # the server inherits the environment
#
# Options (defaults in brackets):
#   --orgs N              organizations in the data set [100]
#   --scenarios LIST      comma-separated harness scenarios [check-hot,check-scattered,batch-check,check-with-writes,at-least]
#   --requests N          measured calls per scenario, at most [50000]
#   --duration S          seconds each scenario's measured phase (and its warm-up) may last, at most [30]
#   --warmup N            unmeasured calls before each scenario [20000]
#   --concurrency N       harness calls in flight [32]
#   --connections N       harness HTTP/2 connections [2]
#   --batch-size N        checks per BatchCheck [100]
#   --writes-per-second R the writer's rate in check-with-writes and at-least [10]
#   --h2load-requests N   h2load -n [100000]
#   --h2load-clients N    h2load -c, HTTP/2 connections [2]
#   --h2load-streams N    h2load -m, concurrent streams per connection [16]
#   --h2load-seconds S    h2load is stopped after this many seconds whatever its count [120]
#   --h2load-batch N      also h2load a BatchCheck of N scattered checks (1 to 1000), -n/-c/-m as above but -n divided
#                         by N (at least 100 calls): decisions/s and the server's CPU per decision, without the
#                         harness's client on the cores [0: not run]
#   --server-warmup S     seconds of unmeasured load on a new server before the scenarios [20]
#   --ready-timeout S     how long the server may take to seed and start [900]
#   --results DIR         where the results go [load-tests/results/<UTC time>]
#   --server-arg ARG      one more server argument (repeatable), like those after --
#   --request-logging     keep ASP.NET Core's per-request Information logs (off by default: see docs/PERFORMANCE.md)
#   --floor-matrix        also start the floor server (load-tests/AuthzGrpc.Floor: Check answered with a constant on
#                         the same stack) and drive it and Check with the same h2load settings at each shape of
#                         --matrix-shapes; prints Check ÷ floor for req/s, p99 and server CPU per call (floor-matrix.md)
#   --matrix-shapes LIST  comma-separated h2load CLIENTSxSTREAMS (-c × -m) of --floor-matrix [1x1,4x16,16x64]
#   --unix-socket         with --floor-matrix: the server listens on a Unix domain socket too (Authz:UnixSocketPath),
#                         and Check is driven over it as well (h2load --base-uri=unix:PATH): socket ÷ TCP per shape
#   --sweep RATES         with --floor-matrix: comma-separated offered loads (calls/s); at each, the harness runs
#                         check-hot open loop (run --rate) against Check and the floor; latency percentiles against
#                         offered load in sweep.dat and sweep.png (gnuplot, installed with apt-get when missing)
#   --sweep-seconds S     seconds of calls at each rate of --sweep [5]
#   --sweep-concurrency N calls in flight at most during --sweep (at least rate × latency) [256]
#   --allocations         with --floor-matrix: also the bytes each server allocates on its managed heap per call,
#                         Check beside the floor (the server's Prometheus counter, the floor's GET /allocated)
#
# Every loop is bounded in count and time, and all traffic goes to 127.0.0.1. Needs the .NET 10 SDK; installs h2load
# (Debian's nghttp2-client) and curl with apt-get when they are missing. Exits non-zero if a scenario had failed calls
# or wrong answers, or an h2load answer could not be verified as ALLOWED.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=load-tests/common.sh
source load-tests/common.sh
export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

orgs=100
scenarios="check-hot,check-scattered,batch-check,check-with-writes,at-least"
requests=50000
duration=30
warmup=20000
concurrency=32
connections=2
batch_size=100
writes_per_second=10
h2load_requests=100000
h2load_clients=2
h2load_streams=16
h2load_seconds=120
ready_timeout=900
server_warmup=20
results=""
request_logging=0
floor_matrix=0
matrix_shapes="1x1,4x16,16x64"
unix_socket=0
allocations=0
h2load_batch=0
sweep=""
sweep_seconds=5
sweep_concurrency=256
server_args=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --orgs) orgs="$2"; shift 2 ;;
        --scenarios) scenarios="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --batch-size) batch_size="$2"; shift 2 ;;
        --writes-per-second) writes_per_second="$2"; shift 2 ;;
        --h2load-requests) h2load_requests="$2"; shift 2 ;;
        --h2load-clients) h2load_clients="$2"; shift 2 ;;
        --h2load-streams) h2load_streams="$2"; shift 2 ;;
        --h2load-seconds) h2load_seconds="$2"; shift 2 ;;
        --h2load-batch) h2load_batch="$2"; shift 2 ;;
        --ready-timeout) ready_timeout="$2"; shift 2 ;;
        --server-warmup) server_warmup="$2"; shift 2 ;;
        --results) results="$2"; shift 2 ;;
        --server-arg) server_args+=("$2"); shift 2 ;;
        --request-logging) request_logging=1; shift ;;
        --floor-matrix) floor_matrix=1; shift ;;
        --matrix-shapes) matrix_shapes="$2"; shift 2 ;;
        --unix-socket) unix_socket=1; shift ;;
        --allocations) allocations=1; shift ;;
        --sweep) sweep="$2"; shift 2 ;;
        --sweep-seconds) sweep_seconds="$2"; shift 2 ;;
        --sweep-concurrency) sweep_concurrency="$2"; shift 2 ;;
        --) shift; server_args+=("$@"); break ;;
        -h|--help) usage ;;
        *) echo "load-tests/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

for number in "$orgs" "$requests" "$duration" "$warmup" "$concurrency" "$connections" "$batch_size" \
    "$h2load_requests" "$h2load_clients" "$h2load_streams" "$h2load_seconds" "$ready_timeout" "$server_warmup" \
    "$sweep_seconds" "$sweep_concurrency"; do
    if ! [[ "$number" =~ ^[0-9]+$ ]]; then
        echo "load-tests/run.sh: '$number' is not a whole number" >&2
        exit 2
    fi
done
IFS=',' read -r -a sweep_rates <<<"$sweep"
for rate in "${sweep_rates[@]}"; do
    if ! [[ "$rate" =~ ^[1-9][0-9]*$ ]]; then
        echo "load-tests/run.sh: '$rate' is not a rate in calls per second" >&2
        exit 2
    fi
done
IFS=',' read -r -a shape_list <<<"$matrix_shapes"
for shape in "${shape_list[@]}"; do
    if ! [[ "$shape" =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]]; then
        echo "load-tests/run.sh: '$shape' is not a shape CLIENTSxSTREAMS, e.g. 4x16" >&2
        exit 2
    fi
done

if ! command -v dotnet >/dev/null 2>&1; then
    echo "load-tests/run.sh: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
    exit 1
fi

# h2load and curl come from Debian's packages; install them only when missing.
missing=()
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#sweep_rates[@]} -eq 0 ] || command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]} with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building (Release)"
dotnet build -c Release -nologo -v quiet src/AuthzGrpc.Server/AuthzGrpc.Server.csproj
dotnet build -c Release -nologo -v quiet load-tests/AuthzGrpc.LoadTest/AuthzGrpc.LoadTest.csproj
server_dll="$repo_root/src/AuthzGrpc.Server/bin/Release/net10.0/AuthzGrpc.Server.dll"
harness=(dotnet "$repo_root/load-tests/AuthzGrpc.LoadTest/bin/Release/net10.0/AuthzGrpc.LoadTest.dll")
if [ "$floor_matrix" -eq 1 ]; then
    dotnet build -c Release -nologo -v quiet load-tests/AuthzGrpc.Floor/AuthzGrpc.Floor.csproj
fi
floor_dll="$repo_root/load-tests/AuthzGrpc.Floor/bin/Release/net10.0/AuthzGrpc.Floor.dll"

results="${results:-$repo_root/load-tests/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/authz-load.XXXXXX")"
server_pid=""
floor_pid=""

# Stops the process $1 (SIGTERM, then SIGKILL after 10 s) if it still runs.
stop_process() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$1" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
stop_server() {
    stop_process "$server_pid"
    server_pid=""
    stop_process "$floor_pid"
    floor_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== generating the data set: $orgs organizations"
"${harness[@]}" generate-relationships --orgs "$orgs" --out "$work/platform.relationships"

port="$(free_port)"
target="http://127.0.0.1:$port"

# Per-request Information logs (four lines a call) would measure the console logger, not the service. Given to the
# server and to the floor alike: the server's own defaults (AuthzServer.Defaults: no request lines, and no request log
# scope or Activity, which ASP.NET Core makes while its hosting diagnostics log at any level), or with --request-logging
# both logging every request.
logging_args=(--Logging:LogLevel:Microsoft.AspNetCore=Warning --Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=None)
[ "$request_logging" -eq 0 ] || logging_args=(--Logging:LogLevel:Microsoft.AspNetCore=Information --Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information)
socket_path="$work/authz.sock"
[ "$unix_socket" -eq 0 ] || server_args+=("--Authz:UnixSocketPath=$socket_path")
# The server's Prometheus endpoint on a port of its own: --allocations reads the server's allocated bytes there.
server_metrics="http://127.0.0.1:$(free_port)"
server_args=("--Authz:MetricsUrl=$server_metrics" "${server_args[@]}")

echo "== starting the server on $target (data in $work/.data, log in $results/server.log)"
(
    cd "$work"
    exec dotnet "$server_dll" \
        "--Kestrel:Endpoints:Grpc:Url=$target" \
        "--Authz:SchemaFile=$repo_root/models/default.zed" \
        "--Authz:RelationshipsFile=$work/platform.relationships" \
        "${logging_args[@]}" "${server_args[@]}"
) >"$results/server.log" 2>&1 &
server_pid=$!
"${harness[@]}" wait-ready --target "$target" --timeout "$ready_timeout" --pid "$server_pid"
key_file="$work/.data/bootstrap.key"
if [ ! -s "$key_file" ]; then
    echo "load-tests/run.sh: the server wrote no $key_file (is Authz:Auth:BootstrapKey set? then pass AUTHZ_TOKEN)" >&2
    exit 1
fi

# A new server runs its first seconds on code the tiered JIT has not optimized yet: without this, whichever scenario
# came first measured slowest in three runs out of four (see docs/PERFORMANCE.md).
if [ "$server_warmup" -gt 0 ]; then
    echo "== warming the server up for ${server_warmup} s (not measured; $results/server-warmup.txt)"
    "${harness[@]}" run --target "$target" --token-file "$key_file" --orgs "$orgs" --scenario check-scattered \
        --requests 10000000 --duration "$server_warmup" --warmup 0 --concurrency "$concurrency" --connections "$connections" \
        >"$results/server-warmup.txt" 2>&1 || { cat "$results/server-warmup.txt" >&2; exit 1; }
    "${harness[@]}" run --target "$target" --token-file "$key_file" --orgs "$orgs" --scenario batch-check \
        --requests 10000000 --duration "$(( (server_warmup + 3) / 4 ))" --warmup 0 --concurrency "$concurrency" --connections "$connections" \
        >>"$results/server-warmup.txt" 2>&1 || { cat "$results/server-warmup.txt" >&2; exit 1; }
fi

failed=()
IFS=',' read -r -a scenario_list <<<"$scenarios"
for scenario in "${scenario_list[@]}"; do
    echo "== harness: $scenario"
    if ! "${harness[@]}" run --target "$target" --token-file "$key_file" --orgs "$orgs" --scenario "$scenario" \
        --requests "$requests" --duration "$duration" --warmup "$warmup" --concurrency "$concurrency" \
        --connections "$connections" --batch-size "$batch_size" --writes-per-second "$writes_per_second" \
        --summary "$results/$scenario.json" | tee "$results/$scenario.txt"; then
        failed+=("$scenario")
    fi
done

echo "== h2load: Check, the check-hot request"
# The body is the gRPC frame of the check-hot CheckRequest; the harness sends it once byte for byte and requires
# grpc-status 0 and ALLOWED, keeping the answer to compare with.
"${harness[@]}" write-h2load-body --orgs "$orgs" --out "$work/check.body" --verify "$target" --token-file "$key_file" \
    --response-out "$results/check.response"
check_url="$target/authz.v1.AuthorizationService/Check"
key="$(cat "$key_file")"

# An independent look with curl: the same bytes must get grpc-status 0 in the trailers and the same answer.
curl_check() {
    curl -sS --max-time 10 --http2-prior-knowledge -D "$work/curl.headers" -o "$work/curl.body" \
        -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $key" \
        --data-binary @"$work/check.body" "$check_url"
    if grep -qi '^grpc-status: 0' "$work/curl.headers" && cmp -s "$work/curl.body" "$results/check.response"; then
        echo "curl: grpc-status 0 and the verified ALLOWED answer ($1)"
    else
        echo "curl: the answer differs from the verified one ($1):" >&2
        cat "$work/curl.headers" >&2
        return 1
    fi
}
curl_check "before h2load" || failed+=("curl-before-h2load")

h2load_args=(-n "$h2load_requests" -c "$h2load_clients" -m "$h2load_streams" -t 1 --log-file="$work/h2load.log"
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $key" -d "$work/check.body" "$check_url")
h2load_shown="h2load -n $h2load_requests -c $h2load_clients -m $h2load_streams -t 1 --log-file=h2load.log -H 'content-type: application/grpc' -H 'te: trailers' -H 'authorization: Bearer azk_…' -d check.body $check_url"
# A short unmeasured run first, as the harness warms up: h2load's -n mode has no warm-up of its own.
timeout "$h2load_seconds" h2load -n "$((h2load_requests < 5000 ? h2load_requests : 5000))" -c "$h2load_clients" -m "$h2load_streams" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $key" -d "$work/check.body" "$check_url" >/dev/null 2>&1 || true
echo "$h2load_shown"
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
if timeout "$h2load_seconds" h2load "${h2load_args[@]}" >"$results/h2load.txt" 2>&1; then
    grep -E '^(finished|requests|status codes|traffic|time for request)' "$results/h2load.txt" || true
    if ! "${harness[@]}" h2load-report --output "$results/h2load.txt" --log "$work/h2load.log" --response "$results/check.response" \
        --command "$h2load_shown" --load-average-before "$load_before" --summary "$results/h2load.json"; then
        failed+=("h2load")
    fi
else
    echo "h2load failed or ran past ${h2load_seconds} s: see $results/h2load.txt" >&2
    failed+=("h2load")
fi
curl_check "after h2load" || failed+=("curl-after-h2load")

clock_ticks="$(getconf CLK_TCK)"

# The bytes the server ($1 = server) or the floor has allocated on its managed heap so far, exactly: the server's
# Prometheus counter, the floor's GET /allocated (HTTP/2 on its gRPC listener).
allocated_now() {
    if [ "$1" = server ]; then
        curl -s --max-time 20 "$server_metrics/metrics" | awk '/^dotnet_gc_heap_total_allocated_bytes_total/ { value = $NF } END { printf "%.0f", value }'
    else
        curl -s --max-time 20 --http2-prior-knowledge "$floor_target/allocated"
    fi
}

# One h2load run of a body at one shape against one server, after an unmeasured warm-up: verified by h2load-report
# like the run above; prints "req/s p99-µs cpu-µs-per-call", then with --allocations the bytes allocated per call.
# $1 name, $2 URL, $3 server pid, $4 the verified answer, $5 the body, $6 clients, $7 streams per client, $8 calls
# (-n), then any more h2load arguments (--base-uri=unix:PATH).
matrix_cell() {
    local name="$1" url="$2" pid="$3" response="$4" body="$5" clients="$6" streams="$7" calls="$8"
    shift 8
    local out="$results/matrix-$name-${clients}x${streams}"
    local shape_args=(-c "$clients" -m "$streams" -t 1 -H 'content-type: application/grpc' -H 'te: trailers'
        -H "authorization: Bearer $key" -d "$body" "$@" "$url")
    local allocated="" allocated_before="" source=server
    [ "$pid" = "$server_pid" ] || source=floor
    timeout "$h2load_seconds" h2load -n "$((calls < 5000 ? calls : 5000))" "${shape_args[@]}" >/dev/null 2>&1 || true
    [ "$allocations" -eq 0 ] || allocated_before="$(allocated_now "$source")"
    local load cpu_before cpu_after succeeded
    load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
    rm -f "$work/matrix.log"
    cpu_before="$(cpu_ticks "$pid")"
    timeout "$h2load_seconds" h2load -n "$calls" --log-file="$work/matrix.log" "${shape_args[@]}" >"$out.txt" 2>&1 || return 1
    cpu_after="$(cpu_ticks "$pid")"
    if [ "$allocations" -eq 1 ]; then
        # "n/a" when a total could not be read.
        allocated="$(awk -v a="$allocated_before" -v b="$(allocated_now "$source")" 'BEGIN { print (a > 0 && b > a ? b - a : "n/a") }')"
    fi
    "${harness[@]}" h2load-report --output "$out.txt" --log "$work/matrix.log" --response "$response" \
        --command "h2load -n $calls -c $clients -m $streams -t 1 --log-file=matrix.log -H … -d ${body##*/} $* $url" \
        --load-average-before "$load" --summary "$out.json" >"$out.report.txt" || return 1
    succeeded="$(json_number succeeded "$out.json")"
    awk -v rps="$(json_number requestsPerSecond "$out.json")" -v p99="$(json_number p99 "$out.json")" \
        -v ticks="$((cpu_after - cpu_before))" -v hz="$clock_ticks" -v n="$succeeded" -v allocated="$allocated" \
        'BEGIN { printf "%.0f %.0f %.1f%s\n", rps, p99, ticks / hz * 1e6 / n, allocated == "" ? "" : allocated == "n/a" ? " n/a" : sprintf(" %.0f", allocated / n) }'
}

# One table row: $1 the shape's label, $2 and $3 the figures of matrix_cell of the numerator and the denominator.
ratio_row() {
    local a_rps a_p99 a_cpu b_rps b_p99 b_cpu
    read -r a_rps a_p99 a_cpu _ <<<"$2"
    read -r b_rps b_p99 b_cpu _ <<<"$3"
    awk -v shape="$1" -v ar="$a_rps" -v br="$b_rps" -v ap="$a_p99" -v bp="$b_p99" -v ac="$a_cpu" -v bc="$b_cpu" \
        'function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
         BEGIN { printf "| %s | %d | %d | %s | %d | %d | %s | %.1f | %.1f | %s |\n", shape, ar, br, ratio(ar, br), ap, bp, ratio(ap, bp), ac, bc, ratio(ac, bc) }'
}
# The table's head: $1 the numerator's name, $2 the denominator's.
ratio_head() {
    echo "| -c × -m | $1 req/s | $2 req/s | ÷ | $1 p99 µs | $2 p99 µs | ÷ | $1 CPU µs/call | $2 CPU µs/call | ÷ |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
}

if [ "$h2load_batch" -gt 0 ]; then
    echo "== h2load: BatchCheck of $h2load_batch scattered checks a call"
    batch_calls=$((h2load_requests / h2load_batch < 100 ? 100 : h2load_requests / h2load_batch))
    if "${harness[@]}" write-h2load-body --orgs "$orgs" --batch "$h2load_batch" --out "$work/batch.body" --verify "$target" \
        --token-file "$key_file" --response-out "$results/batch.response" &&
        batch_figures="$(matrix_cell batch-check "$target/authz.v1.AuthorizationService/BatchCheck" "$server_pid" "$results/batch.response" \
            "$work/batch.body" "$h2load_clients" "$h2load_streams" "$batch_calls")"; then
        read -r batch_rps batch_p99 batch_cpu _ <<<"$batch_figures"
        awk -v n="$h2load_batch" -v rps="$batch_rps" -v p99="$batch_p99" -v cpu="$batch_cpu" -v c="$h2load_clients" -v m="$h2load_streams" -v calls="$batch_calls" \
            'BEGIN { printf "BatchCheck of %d, h2load -n %d -c %d -m %d: %d calls/s = %d decisions/s; p99 %d µs a call; server CPU %.1f µs a call = %.0f ns a decision\n", n, calls, c, m, rps, rps * n, p99, cpu, cpu * 1000 / n }' \
            | tee "$results/batch-check-h2load.txt"
    else
        failed+=("h2load-batch")
    fi
fi

if [ "$floor_matrix" -eq 1 ]; then
    floor_target="http://127.0.0.1:$(free_port)"
    echo "== the floor server on $floor_target (log in $results/floor.log)"
    dotnet "$floor_dll" "--Kestrel:Endpoints:Grpc:Url=$floor_target" "${logging_args[@]}" >"$results/floor.log" 2>&1 &
    floor_pid=$!
    floor_port="${floor_target##*:}"
    for _ in $(seq 1 120); do
        (exec 3<>"/dev/tcp/127.0.0.1/$floor_port") 2>/dev/null && break
        kill -0 "$floor_pid" 2>/dev/null || break
        sleep 0.5
    done
    "${harness[@]}" write-h2load-body --orgs "$orgs" --out "$work/check.body" --verify "$floor_target" --token-file "$key_file" \
        --response-out "$results/floor.response"
    floor_url="$floor_target/authz.v1.AuthorizationService/Check"

    # The first scrape builds the exporter's state, slowly: done once here, not inside the first measurement.
    [ "$allocations" -eq 0 ] || { allocated_now server >/dev/null; allocated_now floor >/dev/null; }
    echo "== h2load: Check against the floor at ${matrix_shapes} (-c x -m), -n $h2load_requests each"
    {
        echo "Check ÷ floor: h2load -n $h2load_requests -t 1 of the check-hot body; CPU is the server process's user + system time per completed call."
        echo
        ratio_head Check floor
    } >"$results/floor-matrix.md"
    socket_rows=()
    allocation_rows=()
    for shape in "${shape_list[@]}"; do
        clients="${shape%x*}"
        streams="${shape#*x}"
        echo "-- ${clients}x${streams}"
        # Check first, then the floor, shape by shape: a change in the machine's load hits both of a pair alike.
        if ! check_figures="$(matrix_cell check "$check_url" "$server_pid" "$results/check.response" "$work/check.body" "$clients" "$streams" "$h2load_requests")"; then
            failed+=("matrix-check-$shape")
            continue
        fi
        if ! floor_figures="$(matrix_cell floor "$floor_url" "$floor_pid" "$results/floor.response" "$work/check.body" "$clients" "$streams" "$h2load_requests")"; then
            failed+=("matrix-floor-$shape")
            continue
        fi
        ratio_row "$clients × $streams" "$check_figures" "$floor_figures" | tee -a "$results/floor-matrix.md"
        if [ "$allocations" -eq 1 ]; then
            read -r _ _ _ check_bytes <<<"$check_figures"
            read -r _ _ _ floor_bytes <<<"$floor_figures"
            allocation_rows+=("| $clients × $streams | $check_bytes | $floor_bytes | $(awk -v a="$check_bytes" -v b="$floor_bytes" 'BEGIN { print (a == "n/a" || b == "n/a") ? "n/a" : a - b }') |")
            echo "${allocation_rows[-1]} (bytes allocated per call: Check, floor, Check − floor)"
        fi
        if [ "$unix_socket" -eq 1 ]; then
            if socket_figures="$(matrix_cell check-socket "$check_url" "$server_pid" "$results/check.response" "$work/check.body" "$clients" "$streams" "$h2load_requests" \
                "--base-uri=unix:$socket_path")"; then
                socket_rows+=("$(ratio_row "$clients × $streams" "$socket_figures" "$check_figures")")
                echo "${socket_rows[-1]} (Check: socket ÷ TCP)"
            else
                failed+=("matrix-socket-$shape")
            fi
        fi
    done

    # The open-loop sweep: at each offered load, check-hot against Check, then the floor; bounded by count and time.
    if [ ${#sweep_rates[@]} -gt 0 ]; then
        echo "# offered calls/s, then p50 p99 p99.9 µs of Check, then of the floor" >"$results/sweep.dat"
        step=0
        for rate in "${sweep_rates[@]}"; do
            step=$((step + 1))
            echo "-- sweep $step/${#sweep_rates[@]}: $rate calls/s for ${sweep_seconds} s, Check then the floor"
            row="$rate"
            for side in check floor; do
                side_args=(--target "$target")
                [ "$side" = check ] || side_args=(--target "$floor_target" --skip-self-check)
                if ! "${harness[@]}" run "${side_args[@]}" --token-file "$key_file" --orgs "$orgs" --scenario check-hot \
                    --rate "$rate" --requests "$((rate * sweep_seconds))" --duration "$((sweep_seconds * 2))" --warmup 2000 \
                    --concurrency "$sweep_concurrency" --connections 2 --summary "$results/sweep-$side-$rate.json" \
                    >"$results/sweep-$side-$rate.txt" 2>&1; then
                    failed+=("sweep-$side-$rate")
                    row="$row NaN NaN NaN"   # gnuplot leaves the point out
                    continue
                fi
                row="$row $(json_number p50 "$results/sweep-$side-$rate.json") $(json_number p99 "$results/sweep-$side-$rate.json") $(json_number p999 "$results/sweep-$side-$rate.json")"
            done
            echo "$row" | tee -a "$results/sweep.dat"
        done
        gnuplot <<GNUPLOT
set terminal pngcairo size 900,560
set output "$results/sweep.png"
set title "check-hot, open loop: latency against offered load ($orgs organizations, $(nproc) shared cores)"
set xlabel "offered load, calls/s"
set ylabel "latency from when each call was due, µs"
set logscale y
set key top left
set grid
plot "$results/sweep.dat" using 1:3 with linespoints lw 2 lc rgb "#c0392b" title "Check p99", \
     "" using 1:2 with linespoints lc rgb "#e67e22" title "Check p50", \
     "" using 1:6 with linespoints lw 2 dt 2 lc rgb "#2471a3" title "floor p99", \
     "" using 1:5 with linespoints dt 2 lc rgb "#5dade2" title "floor p50"
GNUPLOT
        echo "plot: $results/sweep.png"
    fi

    if [ ${#allocation_rows[@]} -gt 0 ]; then
        {
            echo
            echo "Bytes allocated on the managed heap per call: the total before and after each run, the server's from its Prometheus endpoint (dotnet.gc.heap.total_allocated), the floor's from its GET /allocated:"
            echo
            echo "| -c × -m | Check B/call | floor B/call | Check − floor |"
            echo "| --- | ---: | ---: | ---: |"
            printf '%s\n' "${allocation_rows[@]}"
        } >>"$results/floor-matrix.md"
    fi
    if [ ${#socket_rows[@]} -gt 0 ]; then
        {
            echo
            echo "Check over the Unix domain socket ÷ Check over TCP, the same h2load runs:"
            echo
            ratio_head socket TCP
            printf '%s\n' "${socket_rows[@]}"
        } >>"$results/floor-matrix.md"
    fi
fi

stop_server

{
    echo "Load test of $(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo "?") on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ); data set: $orgs organizations."
    echo
    summaries=()
    for scenario in "${scenario_list[@]}"; do
        [ -f "$results/$scenario.json" ] && summaries+=("$results/$scenario.json")
    done
    [ -f "$results/h2load.json" ] && summaries+=("$results/h2load.json")
    [ ${#summaries[@]} -eq 0 ] || "${harness[@]}" report "${summaries[@]}"
    if [ -f "$results/batch-check-h2load.txt" ]; then
        echo
        cat "$results/batch-check-h2load.txt"
    fi
    if [ -f "$results/floor-matrix.md" ]; then
        echo
        cat "$results/floor-matrix.md"
    fi
} >"$results/summary.md"
echo
cat "$results/summary.md"
echo
echo "results: $results (summary.md; one .json and .txt per scenario; h2load.txt, h2load.json; server.log; with --floor-matrix floor-matrix.md, matrix-*.json, floor.log; with --sweep sweep.dat, sweep.png; with --h2load-batch batch-check-h2load.txt, matrix-batch-check-*)"
if [ ${#failed[@]} -gt 0 ]; then
    echo "load-tests/run.sh: not clean: ${failed[*]}" >&2
    exit 1
fi
