# Build: docker build -t authzgrpc .
# Run:   docker run -p 50051:50051 authzgrpc
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore as its own layer: it only reruns when a project or package version changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/AuthzGrpc.Core/AuthzGrpc.Core.csproj src/AuthzGrpc.Core/
COPY src/AuthzGrpc.Contracts/AuthzGrpc.Contracts.csproj src/AuthzGrpc.Contracts/
COPY src/AuthzGrpc.Storage/AuthzGrpc.Storage.csproj src/AuthzGrpc.Storage/
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
ENTRYPOINT ["dotnet", "AuthzGrpc.Server.dll"]
