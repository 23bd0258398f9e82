#!/usr/bin/env bash
# Runs the AuthzGrpc server from the repository root with the default model (models/default.zed and
# models/default.relationships), listening on plaintext HTTP/2 at http://127.0.0.1:50051, with metrics for
# Prometheus at http://127.0.0.1:9464/metrics, the web console at http://127.0.0.1:8080 (docs/CONSOLE.md), data
# in .data/ (a SQLite file, seeded from the model files on first start, and the generated admin key
# .data/bootstrap.key, mode 0600, which authzctl run from the repository root sends). Stop it with Ctrl-C (or SIGTERM) and run it again at will.
#
#   scripts/run.sh [--data DIR] [--port N] [--metrics-port N] [--console-port N] [--start-over] [server configuration...]
#
#   --data DIR        keep this instance's database, key file and Redis files in DIR (default .data)
#   --port N          listen for gRPC on 127.0.0.1:N (default 50051)
#   --metrics-port N  serve /metrics on 127.0.0.1:N (default 9464 for port 50051, else a free port, logged); 0: free
#   --console-port N  serve the web console on 127.0.0.1:N (default 8080 for port 50051, else a free port, logged); 0: free
#   --start-over      delete DIR first: a new database seeded from the model files and a new admin key
#
# Several instances run side by side when each has its own --data and --port, e.g.
#   scripts/run.sh --data .data/b --port 50052
# Any other argument is server configuration, e.g.
#   scripts/run.sh --Authz:SchemaFile=models/004-team-hierarchy.zed --Authz:RelationshipsFile=
#
# Checks are served from the shared permission graph in a local Redis: a redis-server on 127.0.0.1:6379
# (AUTHZ_REDIS_PORT to change) is started here (and Debian's package installed) unless one answers there. It keeps no
# data of its own: the graph is rebuilt from the database, bound to the database's identity, so instances with
# different databases can share it. When the server stops, a redis-server run.sh started (this instance or another)
# is stopped too, unless another client still uses it (another instance): the last instance to stop stops it.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

data=".data"
port=50051
metrics_port=""
console_port=""
start_over=0
server_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --data=*) data="${1#*=}"; shift ;;
        --port) port="$2"; shift 2 ;;
        --port=*) port="${1#*=}"; shift ;;
        --metrics-port) metrics_port="$2"; shift 2 ;;
        --metrics-port=*) metrics_port="${1#*=}"; shift ;;
        --console-port) console_port="$2"; shift 2 ;;
        --console-port=*) console_port="${1#*=}"; shift ;;
        --start-over) start_over=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) server_args+=("$1"); shift ;;
    esac
done
if [ -z "$metrics_port" ]; then
    if [ "$port" = 50051 ]; then metrics_port=9464; else metrics_port=0; fi
fi
if [ -z "$console_port" ]; then
    if [ "$port" = 50051 ]; then console_port=8080; else console_port=0; fi
fi

if [ "$start_over" = 1 ] && [ -d "$data" ]; then
    echo "run.sh: starting over: deleting $data (database, admin key, Redis files)"
    rm -rf -- "$data"
fi
mkdir -p "$data"
data_abs="$(cd "$data" && pwd)"

redis_port="${AUTHZ_REDIS_PORT:-6379}"
scripts/ensure-packages.sh redis-server
# started_redis=1: a redis-server run.sh started, found by the marker file in its folder, shared by the instances
# using it; the last of them to stop stops it.
started_redis=0
if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    redis_dir=$(redis-cli -h 127.0.0.1 -p "$redis_port" config get dir 2>/dev/null | tail -n 1)
    if [ -n "$redis_dir" ] && [ -f "$redis_dir/started-by-run.sh" ]; then
        started_redis=1
    fi
else
    echo "run.sh: starting redis-server on 127.0.0.1:$redis_port (files in $data/redis)"
    mkdir -p "$data_abs/redis"
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$data_abs/redis" \
        --daemonize yes --pidfile "$data_abs/redis/redis.pid" --logfile "$data_abs/redis/redis.log"
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    touch "$data_abs/redis/started-by-run.sh"
    started_redis=1
fi

server_pid=""
stop() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$started_redis" = 1 ]; then
        # The connection asking is one client; any other is a server that still uses this Redis.
        clients=$(redis-cli -h 127.0.0.1 -p "$redis_port" client list 2>/dev/null | grep -c . || true)
        if [ "${clients:-0}" -le 1 ]; then
            redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
            echo "run.sh: stopped the redis-server run.sh started on 127.0.0.1:$redis_port"
        else
            echo "run.sh: left the redis-server on 127.0.0.1:$redis_port running: $((clients - 1)) other clients use it"
        fi
    fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build first, with its progress shown (the first build takes a while), then run the built server.
echo "run.sh: building the server (Release; the first build takes about a minute)..."
dotnet build src/AuthzGrpc.Server -c Release --nologo -v minimal -clp:NoSummary
echo "run.sh: starting the server on 127.0.0.1:$port (data in $data)"
if [ "$console_port" != 0 ]; then
    echo "run.sh: the web console: http://127.0.0.1:$console_port (sign in with an API key, e.g. the one in $data/bootstrap.key)"
else
    echo "run.sh: the web console: on a free port, logged as 'Serving the web console at ...'"
fi

export Authz__Redis__Configuration="${Authz__Redis__Configuration:-127.0.0.1:$redis_port}"
dotnet src/AuthzGrpc.Server/bin/Release/net10.0/AuthzGrpc.Server.dll \
    "--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:$port" \
    "--Authz:MetricsUrl=http://127.0.0.1:$metrics_port" \
    "--Authz:ConsoleUrl=http://127.0.0.1:$console_port" \
    "--Authz:Storage:ConnectionString=Data Source=$data_abs/authz.db" \
    ${server_args[@]+"${server_args[@]}"} &
server_pid=$!
status=0
wait "$server_pid" || status=$?
server_pid=""
exit "$status"
