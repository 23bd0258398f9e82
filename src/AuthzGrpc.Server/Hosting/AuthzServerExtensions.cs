using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Services;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AuthzGrpc.Server.Hosting;

/// <summary>The server's registrations and endpoints.</summary>
public static class AuthzServerExtensions
{
    /// <summary>Registers the options, the store, the model, authentication, the gRPC services, health and reflection.</summary>
    public static IServiceCollection AddAuthzServer(this IServiceCollection services)
    {
        services.AddOptions<AuthzOptions>()
            .BindConfiguration(AuthzOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The source of truth and the engine in force, loaded from it by ModelLoader before the server listens.
        services.AddSingleton(ModelLoader.CreateStore);
        services.AddSingleton<EngineHolder>();
        services.AddSingleton<ModelLoader>();
        services.AddSingleton<ModelWriter>();
        // Catches the engine up with revisions other replicas committed: on demand (consistency tokens) and by polling.
        services.AddSingleton<EngineSync>();
        services.AddHostedService<EngineSyncService>();
        // The shared graph in Redis and the near cache, when Authz:Redis:Configuration names a Redis.
        services.AddOptions<Cache.RedisGraphOptions>()
            .BindConfiguration(AuthzOptions.SectionName + ":Redis")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<SharedGraph>();
        services.AddHostedService<SharedGraphService>();

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
        services.AddSingleton<SchemaGrpcService>();
        services.AddSingleton<RelationshipGrpcService>();

        services.AddGrpcHealthChecks(options =>
            {
                // The overall status leaves the shared graph out: a replica without Redis still answers correctly.
                options.Services.Map(string.Empty, result => !result.Tags.Contains(SharedGraphHealthCheck.Tag));
                options.Services.Map(SharedGraphHealthCheck.ServiceName, result => result.Tags.Contains(SharedGraphHealthCheck.Tag));
            })
            .AddCheck<ModelHealthCheck>("model")
            .AddCheck<StorageHealthCheck>("storage")
            .AddCheck<SharedGraphHealthCheck>("shared-graph", tags: [SharedGraphHealthCheck.Tag]);
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>Maps the gRPC services and logs the listen addresses once the server has started.</summary>
    public static WebApplication MapAuthzServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<AuthorizationGrpcService>();
        app.MapGrpcService<SchemaGrpcService>();
        app.MapGrpcService<RelationshipGrpcService>();
        app.MapGrpcService<ApiKeyGrpcService>();
        app.MapGrpcService<ManagementGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthzServer));
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                Log.Listening(logger, address);
            }
        });
        return app;
    }
}
