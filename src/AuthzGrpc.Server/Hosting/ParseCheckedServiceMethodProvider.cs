using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Grpc.AspNetCore.Server.Model;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// Discovers a service's methods as grpc-dotnet's own binder does (through the generated <c>BindService</c>), but with
/// a request deserializer that turns a body that is not the request message into INVALID_ARGUMENT. grpc-dotnet reads
/// the request before any interceptor runs; left to itself, a parse failure answers UNKNOWN ("Exception was thrown
/// by handler") and logs an error with a stack trace for every such call, authenticated or not. It replaces
/// grpc-dotnet's binder provider (<see cref="ParseCheckedServiceMethods.Replace"/>); every service is discovered through it, health and
/// reflection included.
/// </summary>
internal sealed class ParseCheckedServiceMethodProvider<
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TService>(BadRequestLog log)
    : IServiceMethodProvider<TService>
    where TService : class
{
    /// <inheritdoc/>
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bind = BindMethod(typeof(TService));
        if (bind is null)
        {
            return;
        }

        var binder = new Binder(context, bind.GetParameters()[1].ParameterType, log);
        bind.Invoke(null, [binder, null]);
    }

    // The generated static BindService(ServiceBinderBase, TServiceBase) named by [BindServiceMethod] on a base class.
    private static MethodInfo? BindMethod(Type? type)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } attribute)
            {
                return attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is [var first, _]
                        && first.ParameterType == typeof(ServiceBinderBase));
            }
        }

        return null;
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type declaringType, BadRequestLog log) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Checked(method), Metadata(method.Name, [typeof(TRequest), typeof(ServerCallContext)], out var target),
                Invoker<UnaryServerMethod<TService, TRequest, TResponse>>(target));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(Checked(method),
                Metadata(method.Name, [typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)], out var target),
                Invoker<ServerStreamingServerMethod<TService, TRequest, TResponse>>(target));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(Checked(method),
                Metadata(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext)], out var target),
                Invoker<ClientStreamingServerMethod<TService, TRequest, TResponse>>(target));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Checked(method),
                Metadata(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)], out var target),
                Invoker<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(target));

        private static TDelegate Invoker<TDelegate>(MethodInfo target)
            where TDelegate : Delegate => (TDelegate)Delegate.CreateDelegate(typeof(TDelegate), target);

        // The same method, its request read by a deserializer that refuses what does not parse with INVALID_ARGUMENT.
        private Method<TRequest, TResponse> Checked<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class
            where TResponse : class
        {
            var deserialize = method.RequestMarshaller.ContextualDeserializer;
            var name = method.FullName;
            var requestType = typeof(TRequest).Name;
            var marshaller = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, body =>
            {
                try
                {
                    return deserialize(body);
                }
                catch (Exception e) when (e is not RpcException and not OperationCanceledException)
                {
                    // Protobuf's messages say what is wrong with the bytes (a bad tag, a truncated field), never what they hold.
                    log.Refused(name, e.Message);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request body is not a valid {requestType}: {e.Message}"));
                }
            });
            return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
        }

        // The endpoint metadata grpc-dotnet gives a method: the service type's attributes, then the handler's, then POST.
        private List<object> Metadata(string name, Type[] parameters, out MethodInfo target)
        {
            target = Handler(name, parameters) ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");
            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(target.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return metadata;
        }

        // The public instance method overriding the generated base's virtual method (one hiding it is skipped).
        private MethodInfo? Handler(string name, Type[] parameters)
        {
            for (var type = typeof(TService); type is not null; type = type.BaseType)
            {
                var candidate = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, binder: null, parameters, modifiers: null);
                if (candidate is null)
                {
                    return null;
                }

                if (candidate.IsVirtual && candidate.GetBaseDefinition().DeclaringType == declaringType)
                {
                    return candidate;
                }
            }

            return null;
        }
    }
}

/// <summary>The registration of <see cref="ParseCheckedServiceMethodProvider{TService}"/>.</summary>
internal static class ParseCheckedServiceMethods
{
    /// <summary>Removes grpc-dotnet's binder provider and adds this one in its place; call after every <c>AddGrpc</c>.</summary>
    public static void Replace(IServiceCollection services)
    {
        var binder = services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)
            && d.ImplementationType is { Name: "BinderServiceMethodProvider`1" }).ToList();
        if (binder.Count == 0)
        {
            throw new InvalidOperationException("grpc-dotnet's BinderServiceMethodProvider is not registered: call AddGrpc first");
        }

        foreach (var descriptor in binder)
        {
            services.Remove(descriptor);
        }

        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(ParseCheckedServiceMethodProvider<>));
    }
}
