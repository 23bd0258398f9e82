using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Checks;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.Storage;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AuthzGrpc.Server.Hosting;

/// <summary>The server's registrations and endpoints.</summary>
public static class AuthzServerExtensions
{
    // The service name metrics and traces are exported under.
    private const string ServiceName = "AuthzGrpc";

    /// <summary>
    /// Registers the options, the store, the model, authentication, the gRPC services, health and reflection; for a
    /// check replica (<see cref="AuthzOptions.Role"/>), the schema alone in place of the model, and checks answered from
    /// the database behind the shared graph.
    /// </summary>
    public static IServiceCollection AddAuthzServer(this IServiceCollection services)
    {
        services.AddOptions<AuthzOptions>()
            .BindConfiguration(AuthzOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The source of truth and the engine in force, loaded from it by ModelLoader before the server listens.
        services.AddSingleton(ModelLoader.CreateStore);

        // One store per aggregate over the one database; a class that needs one aggregate takes that store alone.
        services.AddSingleton(services => services.GetRequiredService<AuthzStore>().Database);
        services.AddSingleton(services => services.GetRequiredService<AuthzStore>().Model);
        services.AddSingleton(services => services.GetRequiredService<AuthzStore>().ApiKeys);
        services.AddSingleton<EngineHolder>();
        services.AddSingleton<ModelLoader>();
        services.AddSingleton<ModelWriter>();
        services.AddSingleton<ModelReader>();
        // Catches the engine up with revisions other replicas committed: on demand (consistency tokens) and by polling.
        services.AddSingleton<EngineSync>();
        // A check replica (Authz:Role) holds no engine: the schema alone, followed by the shared graph's upkeep and by each
        // check read from the database. The engine's background services stay registered and idle there: they act only
        // once an engine is loaded, which never happens in that role.
        services.AddSingleton<CheckReplicaSchema>();
        services.AddSingleton<CheckReplicaLoader>();
        services.AddSingleton<ISchemaInForce>(provider =>
            IsCheckReplica(provider) ? provider.GetRequiredService<CheckReplicaSchema>() : provider.GetRequiredService<EngineHolder>());
        services.AddSingleton(GraphUpkeepOf);
        services.AddHostedService<EngineSyncService>();
        // Deletes expired relationships in the background (they grant nothing from their expiry on regardless).
        services.AddHostedService<ExpirationCleanupService>();
        // Watch and WatchEvents follow the store's logs with it.
        services.AddSingleton<StoreLogFollower>();
        // The shared graph in Redis and the near cache, when Authz:Redis:Configuration names a Redis.
        services.AddOptions<Cache.RedisGraphOptions>()
            .BindConfiguration(AuthzOptions.SectionName + ":Redis")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<SharedGraph>();
        services.AddHostedService<SharedGraphService>();
        // What answers the reads: the engine (a check replica: the database), wrapped, when a shared graph is configured,
        // by the graph's layers (the near cache outermost, then Redis), each answering the checks it can and passing the
        // rest on.
        services.AddSingleton<EngineCheckDispatcher>();
        services.AddSingleton(CheckDispatcher);
        // The instruments exist whether metrics are exported or not; with no listener, recording is nearly free.
        services.AddSingleton<AuthzMetrics>();

        services.AddGrpc(options =>
        {
            // The first is the outermost: ErrorInterceptor turns what anything inside throws into a status, so a
            // database failure while authenticating answers UNAVAILABLE; authentication's own refusals are already
            // statuses and pass through it unchanged.
            options.Interceptors.Add<ErrorInterceptor>();
            options.Interceptors.Add<AuthenticationInterceptor>();
        });
        services.AddSingleton<ErrorInterceptor>();
        services.AddAuthzAuthentication();
        // Stateless apart from the engine: one instance serves every call.
        services.AddSingleton<AuthorizationGrpcService>();
        // On a check replica with Authz:FullReplicaAddress, what needs the whole model goes there; idle otherwise.
        services.AddSingleton<FullReplicaForwarder>();
        services.AddSingleton<SchemaGrpcService>();
        services.AddSingleton<RelationshipGrpcService>();

        services.AddGrpcHealthChecks(options =>
            {
                // The overall status leaves the shared graph out: a replica without Redis still answers correctly.
                options.Services.Map(string.Empty, result => HealthEndpoints.DecidesReadiness(result.Tags));
                options.Services.Map(SharedGraphHealthCheck.ServiceName, result => result.Tags.Contains(SharedGraphHealthCheck.Tag));
            })
            .AddCheck<ModelHealthCheck>("model")
            .AddCheck<StorageHealthCheck>("storage")
            .AddCheck<SharedGraphHealthCheck>("shared-graph", tags: [SharedGraphHealthCheck.Tag]);
        services.AddGrpcReflection();
        // After every AddGrpc (health and reflection call it too): a body that does not parse is INVALID_ARGUMENT.
        ParseCheckedServiceMethods.Replace(services);
        services.AddSingleton<IPostConfigureOptions<GrpcServiceOptions>, CheckedDecompression>();
        services.AddSingleton<BadRequestLog>();
        services.AddSingleton<GrpcRequestGuard>();
        return services;
    }

    /// <summary>
    /// Unless <c>Authz:MetricsUrl</c> is empty: listens there for HTTP/1.1 (<see cref="MetricsEndpoint"/>) and exports
    /// the meters of the server (<see cref="AuthzMetrics"/>), the cache, ASP.NET Core, Kestrel and the runtime to
    /// Prometheus, scraped at <c>/metrics</c> on that listener (<see cref="MapAuthzServer"/>). It reads the configuration
    /// as it stands, so call it once every source is added. An unusable URL adds nothing here: the options validation
    /// stops the start, naming it.
    /// </summary>
    public static WebApplicationBuilder AddAuthzMetrics(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var url = builder.Configuration[AuthzOptions.MetricsUrlKey] ?? AuthzOptions.DefaultMetricsUrl;
        if (!MetricsEndpoint.TryParse(url, out var endPoint, out _) || endPoint is null)
        {
            return builder;
        }

        var endpoint = new MetricsEndpoint(endPoint);
        builder.Services.AddSingleton(endpoint);
        builder.WebHost.ConfigureKestrel(endpoint.Listen);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
                .AddMeter(
                    AuthzMetrics.MeterName,
                    AuthzMetrics.CacheMeterName,
                    "Microsoft.AspNetCore.Hosting",
                    "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Runtime")
                // Every scrape collects afresh: scrapes come seconds apart, and a cached answer would hide what just happened.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    /// <summary>
    /// Unless <c>Authz:ConsoleUrl</c> is empty (the default): listens there for HTTP/1.1 (<see cref="ConsoleEndpoint"/>),
    /// serving the web console and gRPC-Web (<see cref="MapAuthzServer"/>). Call it once every configuration source is
    /// added. An unusable URL adds nothing here: the options validation stops the start, naming it.
    /// </summary>
    public static WebApplicationBuilder AddAuthzConsole(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!ConsoleEndpoint.TryParse(builder.Configuration[AuthzOptions.ConsoleUrlKey], out var endPoint, out _) || endPoint is null)
        {
            return builder;
        }

        var endpoint = new ConsoleEndpoint(endPoint);
        builder.Services.AddSingleton(endpoint);
        builder.WebHost.ConfigureKestrel(endpoint.Listen);
        return builder;
    }

    /// <summary>
    /// When <c>Authz:UnixSocketPath</c> (<see cref="AuthzOptions.UnixSocketPath"/>) is set: listens on that Unix domain
    /// socket too, HTTP/2 only like the TCP endpoint, for the gRPC services. Call it once every configuration source is
    /// added.
    /// </summary>
    public static WebApplicationBuilder AddAuthzUnixSocket(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var path = builder.Configuration[AuthzOptions.UnixSocketPathKey];
        if (!string.IsNullOrWhiteSpace(path))
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(path, listener => listener.Protocols = HttpProtocols.Http2));
        }

        return builder;
    }

    /// <summary>
    /// When <c>Authz:Tls:ClientCaFile</c> (<see cref="TlsOptions.ClientCaFileKey"/>) is set: every https endpoint
    /// requires a client certificate chaining to a CA of that PEM file, so the TLS handshake itself refuses any other
    /// client. A file without a certificate stops the start, naming the key. Call it once every configuration source is
    /// added.
    /// </summary>
    public static WebApplicationBuilder AddAuthzClientCertificates(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var caFile = builder.Configuration[TlsOptions.ClientCaFileKey];
        if (string.IsNullOrWhiteSpace(caFile))
        {
            return builder;
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new InvalidOperationException($"{TlsOptions.ClientCaFileKey} '{caFile}': {e.Message}", e);
        }

        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"{TlsOptions.ClientCaFileKey} '{caFile}': no certificate in the file (expected PEM)");
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                return chain.Build(certificate);
            };
        }));
        return builder;
    }

    /// <summary>
    /// When <c>Authz:Otlp:Endpoint</c> (<see cref="AuthzOptions.OtlpEndpointKey"/>) is set: traces the server's
    /// activities (<see cref="AuthzTracing"/>) and ASP.NET Core's requests, exported over OTLP to that endpoint. Empty
    /// adds nothing, so nothing listens and no activity is created. A value that is not an absolute http(s) URL stops
    /// the start, naming the key. Call it once every configuration source is added.
    /// </summary>
    public static WebApplicationBuilder AddAuthzTracing(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var endpoint = builder.Configuration[AuthzOptions.OtlpEndpointKey];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return builder;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var collector) || (collector.Scheme != Uri.UriSchemeHttp && collector.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException(
                $"{AuthzOptions.OtlpEndpointKey} '{endpoint}' is not an OTLP collector's address: give http://HOST:PORT (e.g. http://127.0.0.1:4317), or an empty value to turn traces off");
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithTracing(tracing => tracing
                .AddSource(AuthzTracing.SourceName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter(otlp => otlp.Endpoint = collector));
        return builder;
    }

    /// <summary>
    /// Maps the gRPC services and, when metrics are on, the Prometheus scrape and the HTTP probes
    /// (<see cref="HealthEndpoints"/>) on the metrics listener only; logs the listen addresses once the server has started.
    /// </summary>
    public static WebApplication MapAuthzServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Created now rather than at the first check, so the gauges are there from the first scrape.
        app.Services.GetRequiredService<AuthzMetrics>();
        var metrics = app.Services.GetService<MetricsEndpoint>();
        if (metrics is not null)
        {
            // Requests on the metrics listener never reach the gRPC services: only /metrics, /healthz and /readyz answer
            // there, anything else is 404 (even a path routing matched to a gRPC method). Requests on the gRPC endpoint
            // never reach the scrape or the probes.
            app.MapWhen(MetricsEndpoint.Accepted, scrape =>
            {
                HealthEndpoints.Map(scrape);
                scrape.UseOpenTelemetryPrometheusScrapingEndpoint(MetricsEndpoint.Path);
                scrape.Run(context =>
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                });
            });
        }

        var console = app.Services.GetService<ConsoleEndpoint>();
        if (console is not null)
        {
            // Rejoins the pipeline below: gRPC-Web calls meet the same guard, endpoints and interceptors as gRPC calls.
            var folder = Path.Combine(AppContext.BaseDirectory, ConsoleEndpoint.FolderName);
            app.UseWhen(ConsoleEndpoint.Accepted, branch => ConsoleEndpoint.Configure(branch, folder));
        }

        // After routing, before the endpoint: a path that is not a method's declared name, or a body that is not one
        // gRPC frame, is refused before grpc-dotnet or any interceptor sees it.
        var guard = app.Services.GetRequiredService<GrpcRequestGuard>();
        app.Use(next => context => guard.InvokeAsync(context, next));
        app.MapGrpcService<AuthorizationGrpcService>();
        app.MapGrpcService<SchemaGrpcService>();
        app.MapGrpcService<RelationshipGrpcService>();
        app.MapGrpcService<ApiKeyGrpcService>();
        app.MapGrpcService<ManagementGrpcService>();
        app.MapGrpcService<BackupGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthzServer));
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var metricsAddress = metrics?.Address;
            var consoleAddress = console?.Address;
            foreach (var address in addresses)
            {
                // The metrics and console listeners are named on their own lines: no gRPC client should be pointed at them.
                if (new Uri(address) != metricsAddress && new Uri(address) != consoleAddress)
                {
                    Log.Listening(logger, address);
                }
            }

            if (metricsAddress is not null)
            {
                var scrape = new Uri(metricsAddress, MetricsEndpoint.Path);
                Log.ServingMetrics(logger, scrape);
            }

            if (consoleAddress is not null)
            {
                Log.ServingConsole(logger, consoleAddress);
            }
        });
        return app;
    }

    /// <summary>Whether the configuration names a check replica (<see cref="AuthzOptions.Role"/>).</summary>
    internal static bool IsCheckReplica(IServiceProvider provider) =>
        AuthzOptions.NamesCheckReplica(provider.GetRequiredService<IConfiguration>()[AuthzOptions.RoleKey]);

    // A full replica brings Redis up to its engine; a check replica refreshes its schema and follows what they publish.
    private static GraphUpkeep GraphUpkeepOf(IServiceProvider provider)
    {
        if (IsCheckReplica(provider))
        {
            var schemas = provider.GetRequiredService<CheckReplicaSchema>();
            return async (graph, cancellationToken) =>
            {
                await schemas.RefreshAsync(cancellationToken).ConfigureAwait(false);
                await graph.FollowAsync(schemas.Schema, cancellationToken).ConfigureAwait(false);
            };
        }

        var holder = provider.GetRequiredService<EngineHolder>();
        var sync = provider.GetRequiredService<EngineSync>();
        return (graph, cancellationToken) => graph.MaintainAsync(holder.Current, sync.ReadChangedRelationshipsAsync, cancellationToken);
    }

    private static ICheckDispatcher CheckDispatcher(IServiceProvider provider)
    {
        var budget = provider.GetRequiredService<IOptions<AuthzOptions>>().Value.EvaluationBudget;
        ICheckDispatcher truth = IsCheckReplica(provider)
            ? new DatabaseCheckDispatcher(
                provider.GetRequiredService<ModelStore>(), provider.GetRequiredService<CheckReplicaSchema>(), provider.GetRequiredService<TimeProvider>(), budget)
            : provider.GetRequiredService<EngineCheckDispatcher>();
        if (provider.GetRequiredService<SharedGraph>().Graph is not { } graph)
        {
            return truth;
        }

        var schemas = provider.GetRequiredService<ISchemaInForce>();
        return new NearCacheCheckDispatcher(graph, schemas, budget, new SharedGraphCheckDispatcher(graph, schemas, budget, truth));
    }
}
