# Build: docker build -t authzgrpc .
# Run:   docker run -p 50051:50051 -e Authz__Redis__Configuration=redis:6379 authzgrpc
# (without Authz__Redis__Configuration the service answers from its own model, without the shared graph).
# tests/AuthzGrpc.Server.Tests/DockerfileReplayTests.cs replays this file's COPY and RUN steps and its HEALTHCHECK:
# keep every step of the build stage a plain COPY or RUN it can replay.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore as its own layer: it only reruns when a project or package version changes. Every project the server
# references, directly or not, must be listed here, or `publish --no-restore` fails.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/AuthzGrpc.Core/AuthzGrpc.Core.csproj src/AuthzGrpc.Core/
COPY src/AuthzGrpc.Contracts/AuthzGrpc.Contracts.csproj src/AuthzGrpc.Contracts/
COPY src/AuthzGrpc.Storage/AuthzGrpc.Storage.csproj src/AuthzGrpc.Storage/
COPY src/AuthzGrpc.Cache/AuthzGrpc.Cache.csproj src/AuthzGrpc.Cache/
COPY src/AuthzGrpc.Server/AuthzGrpc.Server.csproj src/AuthzGrpc.Server/
RUN dotnet restore src/AuthzGrpc.Server/AuthzGrpc.Server.csproj

COPY protos/ protos/
COPY src/ src/
RUN dotnet publish src/AuthzGrpc.Server/AuthzGrpc.Server.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
COPY models/ models/
# In a container the service (and its metrics) must listen beyond loopback; the ports are the same. Data lives in /data.
ENV Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:50051 \
    Authz__MetricsUrl=http://0.0.0.0:9464 \
    Authz__Storage__ConnectionString="Data Source=/data/authz.db"
RUN mkdir /data && chown $APP_UID /data
VOLUME /data
EXPOSE 50051 9464
USER $APP_UID
# The server probes its own gRPC health (service ""): SERVING once the model is loaded and while it can answer.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["dotnet", "AuthzGrpc.Server.dll", "probe"]
ENTRYPOINT ["dotnet", "AuthzGrpc.Server.dll"]
