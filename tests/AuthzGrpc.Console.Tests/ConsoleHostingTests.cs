using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The console's listener over plain HTTP (no browser): its security headers, its files, and that gRPC-Web reaches the
/// very same services, authentication included, on that listener only.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleHostingTests(ConsoleServer console)
{
    private static readonly HttpClient Http = new();

    [Theory]
    [InlineData("/")]
    [InlineData("/console.js")]
    [InlineData("/console.css")]
    [InlineData("/models.json")]
    public async Task EveryFile_IsServedWithAStrictPolicy(string path)
    {
        using var response = await Http.GetAsync(new Uri(console.ConsoleAddress, path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task ThePage_HasNoInlineScriptOrStyle_AndLoadsNothingFromElsewhere()
    {
        var page = await Http.GetStringAsync(console.ConsoleAddress);

        Assert.DoesNotContain("<style", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" style=", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", page);
        Assert.Matches("<script type=\"module\" src=\"console.js\"></script>", page);
        Assert.DoesNotContain("http://", page, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/readyz")]
    [InlineData("/nothing-here.js")]
    public async Task OtherPaths_AreNotServedThere(string path)
    {
        using var response = await Http.GetAsync(new Uri(console.ConsoleAddress, path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GrpcWeb_WithoutAKey_IsRefusedByTheSameAuthentication()
    {
        var (status, message, _) = await GrpcWebAsync(console.ConsoleAddress, "/authz.v1.AuthorizationService/WhoAmI", new WhoAmIRequest(), key: null);

        Assert.Equal("16", status);
        Assert.Contains("missing credentials", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcWeb_WithACheckKey_CallsTheServices_AndKeyKindsHoldAsOverGrpc()
    {
        var (status, _, body) = await GrpcWebAsync(console.ConsoleAddress, "/authz.v1.AuthorizationService/WhoAmI", new WhoAmIRequest(), console.CheckKey);
        var (readStatus, readMessage, _) = await GrpcWebAsync(console.ConsoleAddress, "/authz.v1.SchemaService/ReadSchema", new ReadSchemaRequest(), console.CheckKey);

        Assert.Equal("0", status);
        var me = WhoAmIResponse.Parser.ParseFrom(body);
        Assert.Equal("olivia", me.Subject.Object.Id);
        Assert.Equal(KeyKind.Check, me.Kind);
        Assert.Equal(console.CheckKeyId, me.KeyId);
        // PERMISSION_DENIED, with the interceptor's reason: the console is no way around the key kinds.
        Assert.Equal("7", readStatus);
        Assert.Contains("check-only keys cannot call authz.v1.SchemaService/ReadSchema", readMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcWeb_OnTheGrpcEndpoint_IsNotTranslated()
    {
        using var handler = new SocketsHttpHandler();
        using var h2c = new HttpClient(handler);
        using var request = GrpcWebRequest(new Uri(console.Server.Address, "/authz.v1.AuthorizationService/WhoAmI"), new WhoAmIRequest(), console.AdminKey);
        // h2c with prior knowledge, as gRPC clients speak to that endpoint.
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;

        using var response = await h2c.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.UnsupportedMediaType, $"HTTP {(int)response.StatusCode} {response.Headers}");
    }

    [Fact]
    public async Task WhoAmI_OverGrpc_NamesTheCallingKey()
    {
        var admin = await console.Server.Authorization.WhoAmIAsync(new WhoAmIRequest());
        var check = await new AuthorizationService.AuthorizationServiceClient(TestKeys.Channel(console.Server.Address, console.CheckKey))
            .WhoAmIAsync(new WhoAmIRequest());

        Assert.Equal(("user", "admin", KeyKind.Admin), (admin.Subject.Object.Type, admin.Subject.Object.Id, admin.Kind));
        Assert.Equal(("user", "olivia", KeyKind.Check, console.CheckKeyId), (check.Subject.Object.Type, check.Subject.Object.Id, check.Kind, check.KeyId));
        Assert.Equal(string.Empty, check.Subject.Relation);
    }

    private static HttpRequestMessage GrpcWebRequest(Uri address, IMessage message, string? key)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        var request = new HttpRequestMessage(HttpMethod.Post, address) { Content = new ByteArrayContent(frame) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
        }

        return request;
    }

    // One gRPC-Web unary call over HTTP/1.1: the status and message (from the headers of a trailers-only answer or the
    // trailer frame) and the response message's bytes.
    private static async Task<(string Status, string Message, byte[] Body)> GrpcWebAsync(Uri console, string method, IMessage message, string? key)
    {
        using var request = GrpcWebRequest(new Uri(console, method), message, key);
        using var response = await Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method}: HTTP {(int)response.StatusCode}");
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var body = Array.Empty<byte>();
        var trailers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers.Where(h => h.Key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)))
        {
            trailers[header.Key] = header.Value.Single();
        }

        for (var at = 0; at + 5 <= bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 1));
            var content = bytes.AsSpan(at + 5, length);
            if ((bytes[at] & 0x80) != 0)
            {
                foreach (var line in System.Text.Encoding.ASCII.GetString(content).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    trailers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }
            else
            {
                body = content.ToArray();
            }

            at += 5 + length;
        }

        return (trailers.GetValueOrDefault("grpc-status", ""), Uri.UnescapeDataString(trailers.GetValueOrDefault("grpc-message", "")), body);
    }
}
