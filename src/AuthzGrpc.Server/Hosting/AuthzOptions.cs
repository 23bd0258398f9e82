using System.ComponentModel.DataAnnotations;

namespace AuthzGrpc.Server.Hosting;

/// <summary>The server's model and limits, bound from the configuration section <c>Authz</c>.</summary>
public sealed class AuthzOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Authz";

    /// <summary>The configuration key of <see cref="MetricsUrl"/>.</summary>
    public const string MetricsUrlKey = SectionName + ":" + nameof(MetricsUrl);

    /// <summary>
    /// The configuration key of the OTLP collector traces are exported to (<c>Authz:Otlp:Endpoint</c>), e.g.
    /// <c>http://127.0.0.1:4317</c> (gRPC; the exporter's defaults otherwise, <c>OTEL_EXPORTER_OTLP_*</c> included).
    /// Empty (the default) exports no traces: the server's activities (<see cref="AuthzTracing"/>) then cost nothing.
    /// Read once at start by <see cref="AuthzServerExtensions.AddAuthzTracing"/>.
    /// </summary>
    public const string OtlpEndpointKey = SectionName + ":Otlp:Endpoint";

    /// <summary>Where metrics are served unless <c>Authz:MetricsUrl</c> says otherwise.</summary>
    public const string DefaultMetricsUrl = "http://127.0.0.1:9464";

    /// <summary>The configuration key of <see cref="Role"/>.</summary>
    public const string RoleKey = SectionName + ":" + nameof(Role);

    /// <summary>
    /// What this replica serves (<c>Authz:Role</c>): <c>full</c> (the default) loads the whole model and answers every
    /// call; <c>check</c> loads only the schema and answers Check and BatchCheck from the near cache, the shared graph
    /// in Redis and, when those cannot, records read from the database — its memory bounded by the near cache, whatever
    /// the number of relationships. A check replica never writes to the database or to Redis, needs a database a full
    /// replica has created and migrated, and answers every other call UNIMPLEMENTED, or, given
    /// <see cref="FullReplicaAddress"/>, forwards the reads a full replica serves there. See docs/SCALING.md.
    /// </summary>
    [RegularExpression("^(?i:full|check)$", ErrorMessage = "Authz:Role must be full or check")]
    public string Role { get; set; } = "full";

    /// <summary>Whether <paramref name="role"/> (an <c>Authz:Role</c> value) names a check replica.</summary>
    public static bool NamesCheckReplica(string? role) => string.Equals(role, "check", StringComparison.OrdinalIgnoreCase);

    /// <summary>The configuration key of <see cref="FullReplicaAddress"/>.</summary>
    public const string FullReplicaAddressKey = SectionName + ":" + nameof(FullReplicaAddress);

    /// <summary>
    /// On a check replica, the gRPC address of a full replica (<c>Authz:FullReplicaAddress</c>, <c>http://HOST:PORT</c> or
    /// <c>https://HOST:PORT</c>; a load balancer in front of full replicas will do): the calls a check replica cannot
    /// answer — a Check or BatchCheck with a management context, a check under a schema with caveats, Explain, the
    /// lookups, Watch and WhoAmI — are authenticated here, then forwarded there whole with the caller's key, and
    /// answered as the full replica answers them (UNAVAILABLE when it cannot be reached). Null or empty (the default):
    /// they answer UNIMPLEMENTED. Writes are never forwarded. Setting it on a full replica stops the start.
    /// </summary>
    [FullReplicaAddress]
    public string? FullReplicaAddress { get; set; }

    /// <summary>
    /// The schema file loaded at start (<c>Authz:SchemaFile</c>). Default <c>models/default.zed</c>; a relative
    /// path is resolved against the current directory. A schema that does not compile stops the server.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string SchemaFile { get; set; } = "models/default.zed";

    /// <summary>
    /// The relationships loaded at start (<c>Authz:RelationshipsFile</c>), one <c>resource#relation@subject</c> a
    /// line; blank lines and <c>//</c> comments are skipped. Default <c>models/default.relationships</c>; a relative
    /// path is resolved against the current directory. Null or empty starts with no relationships.
    /// </summary>
    public string? RelationshipsFile { get; set; } = "models/default.relationships";

    /// <summary>
    /// The most checks one BatchCheck may carry (<c>Authz:MaxBatchCheckItems</c>); a larger batch is rejected with
    /// INVALID_ARGUMENT. Default 1000.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxBatchCheckItems { get; set; } = 1000;

    /// <summary>
    /// The largest <c>limit</c> a LookupResources or LookupSubjects request may ask for (<c>Authz:MaxLookupLimit</c>): a
    /// larger one is rejected with INVALID_ARGUMENT, so one page never holds more. Default 1000. A request without a
    /// limit (0) still streams every result: capping it would cut old clients' lists short without telling them, and
    /// the engine computes the candidates of the whole answer either way.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxLookupLimit { get; set; } = 1000;

    /// <summary>
    /// The most updates one WriteRelationships may carry (<c>Authz:MaxWriteBatch</c>); a larger batch is rejected with
    /// INVALID_ARGUMENT. Default 1000.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxWriteBatch { get; set; } = 1000;

    /// <summary>
    /// How many steps one evaluation may take (<c>Authz:EvaluationBudget</c>): a step is the evaluation of one relation
    /// or permission on one object, and one Check, one Explain, one item of a BatchCheck or one candidate of a lookup is
    /// one evaluation. Past it the call fails with RESOURCE_EXHAUSTED, never an allow. Sub-results are shared within an
    /// evaluation, so ordinary checks take tens of steps. Default 100000.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int EvaluationBudget { get; set; } = Core.Engine.PermissionEngine.DefaultEvaluationBudget;

    /// <summary>
    /// How often, in milliseconds, the server polls the store for revisions other replicas committed and applies them
    /// (<c>Authz:SyncIntervalMilliseconds</c>); also how often an open Watch looks for new revisions. A check without a
    /// consistency token sees another replica's write within about this long. Default 1000.
    /// </summary>
    [Range(10, 3_600_000)]
    public int SyncIntervalMilliseconds { get; set; } = 1000;

    /// <summary>
    /// How often, in milliseconds of the server's clock, expired relationships are deleted in the background
    /// (<c>Authz:ExpirationCleanupIntervalMilliseconds</c>). Expired relationships grant nothing from their expiry on
    /// whether deleted or not; the cleanup keeps the store small and lets Watch report them. Every replica runs it (the
    /// deletes are judged in one transaction, so replicas never delete the same relationship twice). Default 60000.
    /// </summary>
    [Range(10, 86_400_000)]
    public int ExpirationCleanupIntervalMilliseconds { get; set; } = 60_000;

    /// <summary>
    /// Where Prometheus scrapes the server's metrics (<c>Authz:MetricsUrl</c>): <c>http://IP:PORT</c>, served over
    /// HTTP/1.1 at <c>/metrics</c> on that address only (the gRPC endpoint is HTTP/2 only and never serves it). The same
    /// listener answers the load balancers' probes <c>/healthz</c> (alive) and <c>/readyz</c> (model loaded and storage
    /// answering, else 503): see <see cref="HealthEndpoints"/>. Default <c>http://127.0.0.1:9464</c> (loopback);
    /// <c>http://0.0.0.0:9464</c> listens on every interface, port 0 on a free port. Null or empty turns metrics and
    /// the HTTP probes off: no listener, no exporter. The host must be an IP address, and https is not served.
    /// </summary>
    [MetricsUrl]
    public string? MetricsUrl { get; set; } = DefaultMetricsUrl;

    /// <summary>The configuration key of <see cref="ConsoleUrl"/>.</summary>
    public const string ConsoleUrlKey = SectionName + ":" + nameof(ConsoleUrl);

    /// <summary>
    /// Where the web console is served (<c>Authz:ConsoleUrl</c>): <c>http://IP:PORT</c>, an HTTP/1.1 listener of its own
    /// serving the console's files (<c>src/AuthzGrpc.Console/wwwroot</c>) and the gRPC services over gRPC-Web, the same
    /// services with the same authentication, so the console can do nothing another client could not (see
    /// <see cref="ConsoleEndpoint"/>). Null or empty (the default) serves no console. The host must be an IP address,
    /// port 0 picks a free port (logged); https is not served, so keep it on loopback or behind a TLS proxy: the console
    /// sends the API key it is given on every call. <c>scripts/run.sh</c> turns it on.
    /// </summary>
    [ConsoleUrl]
    public string? ConsoleUrl { get; set; }

    /// <summary>The configuration key of <see cref="UnixSocketPath"/>.</summary>
    public const string UnixSocketPathKey = SectionName + ":" + nameof(UnixSocketPath);

    /// <summary>
    /// A Unix domain socket the gRPC services also listen on, HTTP/2 without TLS, beside the TCP endpoint
    /// (<c>Authz:UnixSocketPath</c>), e.g. <c>/run/authz/authz.sock</c> for a sidecar: a caller on the same host skips
    /// TCP and is limited by the socket file's permissions. Null or empty (the default) listens on TCP only. Nothing
    /// may exist at the path yet (Kestrel refuses to start otherwise), and its folder must. Read once at start by
    /// <see cref="AuthzServerExtensions.AddAuthzUnixSocket"/>.
    /// </summary>
    public string? UnixSocketPath { get; set; }

    /// <summary>Where the source of truth lives (<c>Authz:Storage</c>).</summary>
    public StorageOptions Storage { get; set; } = new();

    /// <summary>Authentication: the bootstrap admin key and the key cache (<c>Authz:Auth</c>).</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Client certificates on the TLS endpoints (<c>Authz:Tls</c>).</summary>
    public TlsOptions Tls { get; set; } = new();
}

/// <summary>
/// <see cref="AuthzOptions.FullReplicaAddress"/>: empty, or on a check replica an absolute http(s) URL with a host and no
/// path, query or credentials (the channel's address, not a method's).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class FullReplicaAddressAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not string address || string.IsNullOrWhiteSpace(address))
        {
            return ValidationResult.Success;
        }

        if (validationContext.ObjectInstance is AuthzOptions options && !AuthzOptions.NamesCheckReplica(options.Role))
        {
            return new ValidationResult(
                $"{AuthzOptions.FullReplicaAddressKey} is set on a full replica ({AuthzOptions.RoleKey}={options.Role}): only a check replica " +
                $"({AuthzOptions.RoleKey}=check) forwards calls to a full replica; remove the setting or set {AuthzOptions.RoleKey}=check");
        }

        return Uri.TryCreate(address, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0 && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
            ? ValidationResult.Success
            : new ValidationResult(
                $"{AuthzOptions.FullReplicaAddressKey} '{address}' is not a full replica's gRPC address: give http://HOST:PORT or https://HOST:PORT (no path)");
    }
}

/// <summary>Mutual TLS, bound from <c>Authz:Tls</c>; the server's own certificate is Kestrel's endpoint configuration.</summary>
public sealed class TlsOptions
{
    /// <summary>The configuration key of <see cref="ClientCaFile"/>, read before the options are bound (Kestrel is set up first).</summary>
    public const string ClientCaFileKey = AuthzOptions.SectionName + ":Tls:" + nameof(ClientCaFile);

    /// <summary>
    /// A PEM file of CA certificates. When set, every https endpoint requires a client certificate that chains to one
    /// of them (only to them: the machine's roots are not consulted); a client without one, or with another CA's, is
    /// refused at the TLS handshake. API keys are still required on every call. Null or empty: no client certificate
    /// is asked for.
    /// </summary>
    public string? ClientCaFile { get; set; }
}

/// <summary>API key authentication, bound from <c>Authz:Auth</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>The subject of the bootstrap admin key unless <c>Authz:Auth:BootstrapSubject</c> says otherwise.</summary>
    public const string DefaultBootstrapSubject = "user:admin";

    /// <summary>The file, in the data folder, that receives a generated bootstrap admin key.</summary>
    public const string BootstrapKeyFileName = "bootstrap.key";

    /// <summary>
    /// An admin API key <c>azk_&lt;id&gt;_&lt;secret&gt;</c> (<c>Authz:Auth:BootstrapKey</c>; id 1 to 32 of <c>a-z 0-9</c>,
    /// secret 32 to 128 of <c>A-Z a-z 0-9 _ -</c>), stored hashed at every start as a valid admin key of
    /// <see cref="BootstrapSubject"/>. Null or empty (the default): when the database holds no valid admin key, one is
    /// generated at start and written to <c>bootstrap.key</c> in the data folder (the SQLite file's folder, or the
    /// working folder for PostgreSQL), readable by the server's user only. Pass it through the environment
    /// (<c>Authz__Auth__BootstrapKey</c>) rather than the command line, where other users can read it.
    /// </summary>
    public string? BootstrapKey { get; set; }

    /// <summary>
    /// The subject, <c>type:id</c>, the bootstrap admin key acts as (<c>Authz:Auth:BootstrapSubject</c>); the audit log
    /// names it as the actor of that key's calls. Default <c>user:admin</c>.
    /// </summary>
    public string BootstrapSubject { get; set; } = DefaultBootstrapSubject;

    /// <summary>
    /// How long, in seconds, a verified key is kept in memory before the database is read again
    /// (<c>Authz:Auth:KeyCacheSeconds</c>): a key revoked through another replica, or in the database directly, keeps
    /// working here for at most this long. Revoking through this server takes effect at once. 0 reads the database
    /// on every call. Default 30.
    /// </summary>
    [Range(0, 3600)]
    public int KeyCacheSeconds { get; set; } = 30;
}

/// <summary>The source of truth's database, bound from <c>Authz:Storage</c>.</summary>
public sealed class StorageOptions
{
    /// <summary>The SQLite default: a file under the working folder (its folder is created).</summary>
    public const string DefaultConnectionString = "Data Source=.data/authz.db";

    /// <summary>
    /// <c>sqlite</c> (default: an embedded file, WAL mode) or <c>postgres</c> (PostgreSQL through Npgsql, for replicas
    /// that share one database) (<c>Authz:Storage:Provider</c>); case-insensitive.
    /// </summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>
    /// The provider's connection string (<c>Authz:Storage:ConnectionString</c>). Default
    /// <c>Data Source=.data/authz.db</c>: a SQLite file relative to the current directory. For PostgreSQL e.g.
    /// <c>Host=127.0.0.1;Username=authz;Password=...;Database=authz</c> (the database is created if the user may).
    /// Null or empty means the default; with <c>postgres</c> it must be given.
    /// </summary>
    public string? ConnectionString { get; set; }
}
