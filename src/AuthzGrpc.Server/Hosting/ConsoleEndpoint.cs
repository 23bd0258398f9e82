using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The web console's listener (<see cref="AuthzOptions.ConsoleUrl"/>): HTTP/1.1 on an address of its own, because
/// browsers cannot speak gRPC (they neither send HTTP/2 without TLS nor read trailers), serving the console's static
/// files and the very same gRPC services translated from gRPC-Web. There is no console-only API: a gRPC-Web call runs
/// through routing, <see cref="GrpcRequestGuard"/>, the error and authentication interceptors and the service exactly
/// as a gRPC call does, so a key may do in the console only what it may do with any client. gRPC-Web is translated on
/// this listener only (a gRPC-Web request to the gRPC endpoint is refused by grpc-dotnet), and the console's files are
/// served here only. A <see cref="SideListener"/>: <see cref="Accepted"/> tells its requests apart.
/// </summary>
internal sealed class ConsoleEndpoint(IPEndPoint endPoint) : SideListener(endPoint, ConsoleConnection.Marker)
{
    /// <summary>The folder, beside the server's assembly, that holds the console's files (copied at build).</summary>
    public const string FolderName = "console";

    /// <summary>
    /// The Content-Security-Policy of every answer: only this origin's scripts, styles, images and calls; no inline script
    /// or style, no eval, no plugins, no framing (clickjacking), no base-URI or form tricks. Values from the service are
    /// set as text, never as markup, so even a value that slipped through could not run.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// Reads <paramref name="url"/> as <see cref="MetricsEndpoint.TryParse"/> does (<c>http://IP:PORT</c>; null or blank
    /// is off), with an <paramref name="error"/> naming <c>Authz:ConsoleUrl</c>.
    /// </summary>
    public static bool TryParse(string? url, out IPEndPoint? endPoint, [NotNullWhen(false)] out string? error)
    {
        if (MetricsEndpoint.TryParse(url, out endPoint, out _))
        {
            error = null;
            return true;
        }

        error = $"{AuthzOptions.ConsoleUrlKey} '{url}' is not an address to serve the console on: give http://IP:PORT, e.g. "
            + "http://127.0.0.1:8080, or an empty value to serve no console";
        return false;
    }

    /// <summary>Whether <paramref name="context"/> arrived on this endpoint (its connection carries the marker).</summary>
    public static bool Accepted(HttpContext context) => context.Features.Get<ConsoleConnection>() is not null;

    /// <summary>
    /// The console's branch of the pipeline, for requests on this listener only (after routing, before the request
    /// guard): the security headers on every answer, the static files, then gRPC-Web translated to the gRPC services'
    /// own endpoints; anything else is 404. A request of the gRPC endpoint never enters it.
    /// </summary>
    public static void Configure(IApplicationBuilder console, string folder)
    {
        var files = new PhysicalFileProvider(folder);
        console.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            // The files change with the server's version, and answers carry decisions: never served from a cache.
            headers.CacheControl = "no-store";
            return next(context);
        });
        console.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        console.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Only the types the console ships; anything else in the folder is not served.
            ContentTypeProvider = new FileExtensionContentTypeProvider(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                [".html"] = "text/html; charset=utf-8",
                [".js"] = "text/javascript; charset=utf-8",
                [".css"] = "text/css; charset=utf-8",
                [".json"] = "application/json; charset=utf-8",
                [".svg"] = "image/svg+xml",
                [".png"] = "image/png",
            }),
        });
        // Past the files, only gRPC-Web goes on (checked before the translation, which rewrites the content type).
        console.Use((context, next) =>
        {
            if (context.Request.ContentType?.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) == true)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        // Every gRPC service of the server, as mapped for gRPC: the same endpoints, so the same guard and interceptors.
        console.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
    }

    /// <summary>Marks a connection accepted by the console listener.</summary>
    private sealed class ConsoleConnection
    {
        public static readonly ConsoleConnection Marker = new();
    }
}

/// <summary>Validates <see cref="AuthzOptions.ConsoleUrl"/> with <see cref="ConsoleEndpoint.TryParse"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConsoleUrlAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        ConsoleEndpoint.TryParse(value as string, out _, out var error) ? ValidationResult.Success : new ValidationResult(error);
}
