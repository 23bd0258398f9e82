#!/usr/bin/env bash
# Runs the AuthzGrpc server from the repository root with the default model
# (models/default.zed and models/default.relationships), listening on plaintext
# HTTP/2 at http://127.0.0.1:50051 unless configured otherwise, with metrics for
# Prometheus at http://127.0.0.1:9464/metrics (--Authz:MetricsUrl; empty: none).
#
# Arguments are passed to the server as configuration, e.g.
#   scripts/run.sh --Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:50052
#   scripts/run.sh --Authz:SchemaFile=models/004-team-hierarchy.zed --Authz:RelationshipsFile=
# Checks are served from the shared permission graph in a local Redis: a redis-server on
# 127.0.0.1:6379 (AUTHZ_REDIS_PORT to change), started here (and Debian's package installed) when
# nothing answers there; it keeps no data of its own (the graph is rebuilt from the database), and
# the server answers from the database if it goes away.
# Data is kept in .data/authz.db (a SQLite file), seeded from the model files on
# first start, which also writes an admin API key to .data/bootstrap.key (mode 0600;
# authzctl run from the repository root sends it); stop it with Ctrl-C and run it
# again at will. A second copy on the same address stops at once with "address
# already in use": give it its own --Kestrel:Endpoints:Grpc:Url and --Authz:MetricsUrl.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

redis_port="${AUTHZ_REDIS_PORT:-6379}"
scripts/ensure-redis.sh
if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    mkdir -p .data/redis
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$repo_root/.data/redis" \
        --daemonize yes --pidfile "$repo_root/.data/redis/redis.pid" --logfile "$repo_root/.data/redis/redis.log"
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
export Authz__Redis__Configuration="${Authz__Redis__Configuration:-127.0.0.1:$redis_port}"

exec dotnet run --project src/AuthzGrpc.Server -c Release -- "$@"
