using AuthzGrpc.Server.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AuthzGrpc.Server.Authentication;

/// <summary>The registrations of API key authentication (the interceptor itself is added to the gRPC options by the caller).</summary>
internal static class AuthenticationExtensions
{
    /// <summary>Registers the key verifier and its cache, the interceptor, the bootstrap and ApiKeyService.</summary>
    public static IServiceCollection AddAuthzAuthentication(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<AuthenticationInterceptor>();
        services.AddSingleton<ApiKeyBootstrap>();
        services.AddSingleton<ApiKeyGrpcService>();
        return services;
    }
}
