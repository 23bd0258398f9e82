using System.Reflection;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// Every RPC the server maps, found in the generated service descriptors (authz.v1's, health's and reflection's), so
/// that a test over "every RPC" covers an RPC added later without being edited; and calls of any of them with raw
/// bytes as the request, under any path.
/// </summary>
public static class RpcCatalog
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>Every method of every service the server maps, in a fixed order.</summary>
    public static IReadOnlyList<MethodDescriptor> All { get; } = Discover();

    /// <summary>Whether <paramref name="method"/> answers without credentials (health and reflection).</summary>
    public static bool IsPublic(MethodDescriptor method) => !method.Service.FullName.StartsWith("authz.", StringComparison.Ordinal);

    /// <summary>
    /// Calls <paramref name="method"/> with <paramref name="body"/> as the serialized request, at <paramref name="path"/>
    /// (<c>/service/method</c>; the method's own when null). A streaming reply is read to its end, or for at most
    /// <paramref name="openFor"/> (a stream still open then, such as Watch, answers <see cref="Open"/>). Returns the
    /// status code, and the responses' bytes.
    /// </summary>
    public static async Task<(StatusCode Code, List<byte[]> Responses)> CallAsync(
        GrpcChannel channel, MethodDescriptor method, byte[] body, string? path = null, TimeSpan? openFor = null, Metadata? headers = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(method);
        path ??= $"/{method.Service.FullName}/{method.Name}";
        var slash = path.LastIndexOf('/');
        var type = method.IsClientStreaming
            ? (method.IsServerStreaming ? MethodType.DuplexStreaming : MethodType.ClientStreaming)
            : (method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary);

        // Method.FullName is "/" + service + "/" + name: any path can be spelled by splitting it at its last slash.
        var call = new Method<byte[], byte[]>(type, path[1..slash], path[(slash + 1)..], Bytes, Bytes);
        using var stop = new CancellationTokenSource(openFor ?? TimeSpan.FromSeconds(1));
        var options = new CallOptions(headers, cancellationToken: stop.Token);
        var responses = new List<byte[]>();
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    responses.Add(await channel.CreateCallInvoker().AsyncUnaryCall(call, null, options, body));
                    break;
                case MethodType.ServerStreaming:
                {
                    using var stream = channel.CreateCallInvoker().AsyncServerStreamingCall(call, null, options, body);
                    while (await stream.ResponseStream.MoveNext(stop.Token))
                    {
                        responses.Add(stream.ResponseStream.Current);
                    }

                    break;
                }

                default:
                {
                    using var stream = channel.CreateCallInvoker().AsyncDuplexStreamingCall(call, null, options);
                    try
                    {
                        await stream.RequestStream.WriteAsync(body);
                        await stream.RequestStream.CompleteAsync();
                    }
                    catch (Exception e) when (e is RpcException or InvalidOperationException)
                    {
                        // The server answered before reading the request (say, UNIMPLEMENTED): its status follows.
                    }

                    while (await stream.ResponseStream.MoveNext(stop.Token))
                    {
                        responses.Add(stream.ResponseStream.Current);
                    }

                    break;
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && stop.IsCancellationRequested)
        {
            return (Open, responses);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, responses);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return (Open, responses);
        }

        return (StatusCode.OK, responses);
    }

    /// <summary>What <see cref="CallAsync"/> answers for a stream still open when it stopped reading (not a gRPC code).</summary>
    public const StatusCode Open = (StatusCode)(-1);

    private static List<MethodDescriptor> Discover()
    {
        Assembly[] assemblies = [typeof(V1.AuthorizationService).Assembly, typeof(Health).Assembly, typeof(ServerReflection).Assembly];
        var services = assemblies
            .SelectMany(a => a.GetTypes())
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(p => p is not null && p.PropertyType == typeof(ServiceDescriptor))
            .Select(p => (ServiceDescriptor)p!.GetValue(null)!)
            .DistinctBy(s => s.FullName)
            .OrderBy(s => s.FullName, StringComparer.Ordinal);
        return [.. services.SelectMany(s => s.Methods)];
    }
}
