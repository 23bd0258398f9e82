using System.Reflection;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The layering docs/ARCHITECTURE.md draws, read from the compiled assemblies: a gRPC service validates, calls the
/// writer, the reader or the dispatcher, and maps; only Storage sees its EF rows and contexts.
/// </summary>
public sealed class LayeringTests
{
    private const BindingFlags Members = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    [Fact]
    public void NoGrpcService_HoldsAStore()
    {
        var storage = typeof(AuthzStore).Assembly;
        var services = typeof(ErrorInterceptor).Assembly.GetTypes()
            .Where(type => type.Namespace == typeof(ErrorInterceptor).Namespace)
            .ToList();
        Assert.Contains(services, type => type.Name == "ManagementGrpcService");

        // Primary-constructor parameters a class uses become its fields, so the fields and constructors say all it holds.
        var held = services.SelectMany(type =>
            type.GetFields(Members).Select(field => (type, field.FieldType))
                .Concat(type.GetConstructors(Members).SelectMany(c => c.GetParameters()).Select(p => (type, p.ParameterType))));
        var stores = held.Where(pair => pair.Item2.Assembly == storage && pair.Item2.IsClass && !IsValue(pair.Item2))
            .Select(pair => $"{pair.type.Name} holds {pair.Item2.Name}")
            .Distinct()
            .ToList();

        Assert.Empty(stores);
    }

    [Fact]
    public void EfRowsAndContexts_AreInternalToStorage()
    {
        var exposed = typeof(AuthzStore).Assembly.GetExportedTypes()
            .Where(type => type.IsSubclassOf(typeof(Microsoft.EntityFrameworkCore.DbContext)) || type.Namespace == "AuthzGrpc.Storage.Entities")
            .Select(type => type.FullName)
            .ToList();

        Assert.Empty(exposed);
        Assert.False(typeof(AuthzStore).Assembly.GetTypes().Single(type => type.Name == "RelationshipRow").IsVisible);
    }

    // The records a store speaks in (what a reader returns, what a writer passes), as opposed to a store itself.
    private static bool IsValue(Type type) =>
        type.GetMethod("<Clone>$") is not null || type.IsAbstract && type.IsSealed;
}
