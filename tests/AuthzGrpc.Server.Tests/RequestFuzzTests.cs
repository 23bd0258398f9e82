using System.Globalization;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Mutated valid requests to every RPC (found in the service descriptors): no answer is UNKNOWN or INTERNAL, the
/// server logs no error and keeps answering, and no refused request changes what is stored. Two runs of 5,000
/// requests: a fixed seed, and a random one printed so a failure can be replayed (<see cref="SeedVariable"/>).
/// </summary>
public sealed class RequestFuzzTests(ITestOutputHelper output)
{
    /// <summary>The environment variable that replaces the random seed (to replay a printed one).</summary>
    public const string SeedVariable = "AUTHZ_FUZZ_SEED";

    private const int FixedSeed = 20_261_203;
    private const int RequestsPerSeed = 2_500;

    [Fact]
    public async Task MutatedRequests_ToEveryRpc_AreNeverUnknownOrInternal_AndRefusedOnesChangeNothing()
    {
        var random = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), CultureInfo.InvariantCulture, out var given)
            ? given
            : System.Random.Shared.Next();
        output.WriteLine($"fuzz seeds: {FixedSeed} (fixed) and {random} (random; replay with {SeedVariable}={random})");

        // The two runs at once, each on a server of its own (both cores busy).
        var runs = new[] { FixedSeed, random }.Select(seed => (Seed: seed, Failures: new List<string>(), Notes: new List<string>(), Counts: new SortedDictionary<string, int>(StringComparer.Ordinal))).ToList();
        await Task.WhenAll(runs.Select(run => Task.Run(() => RunAsync(run.Seed, run.Failures, run.Notes, run.Counts))));
        var failures = runs.SelectMany(r => r.Failures).ToList();
        var notes = runs.SelectMany(r => r.Notes).ToList();
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, count) in runs.SelectMany(r => r.Counts))
        {
            counts[name] = counts.GetValueOrDefault(name) + count;
        }

        output.WriteLine(string.Join('\n', counts.Select(c => $"{c.Key}: {c.Value}")));
        output.WriteLine(string.Join('\n', notes));
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join('\n', failures.Take(50)));
        Assert.True(counts.Values.Sum() >= 2 * RequestsPerSeed, $"{counts.Values.Sum()} requests sent");
    }

    // Appends to failures what breaks the rules, to notes the first answers that are odd for a bad input (a status
    // saying to retry), to counts how many of each status.
    private async Task RunAsync(int seed, List<string> failures, List<string> notes, SortedDictionary<string, int> counts)
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var callers = new (string Kind, GrpcChannel Channel)[]
        {
            ("admin", server.Channel),
            ("management", await server.ChannelForAsync("user:olivia", KeyKind.Management)),
            ("check", await server.ChannelForAsync("user:olivia", KeyKind.Check)),
            ("none", server.ChannelWith(null)),
        };
        var vocabulary = await Vocabulary.ReadAsync(server);
        var rng = new Random(seed);
        var methods = RpcCatalog.All;
        var unary = methods.Where(m => !m.IsServerStreaming && !m.IsClientStreaming).ToList();
        var streaming = methods.Except(unary).ToList();
        var sent = 0;

        // Unary calls (every write among them) one at a time: after each one the server refused, what is stored must
        // be as it was before it (the store's revision and its newest audit event).
        var digest = await DigestAsync(server);
        var unaryCount = RequestsPerSeed * unary.Count / methods.Count;
        for (var i = 0; i < unaryCount; i++)
        {
            var method = unary[i % unary.Count];
            var (kind, channel) = PickCaller(rng, callers);
            var (body, mutation) = Mutations.Make(method.InputType, vocabulary, rng);
            var (code, _) = await RpcCatalog.CallAsync(channel, method, body, openFor: TimeSpan.FromSeconds(30));
            sent++;
            Count(counts, code);
            var after = await DigestAsync(server);
            if (code is StatusCode.Unknown or StatusCode.Internal)
            {
                failures.Add($"seed {seed} #{i}: {method.FullName} ({kind} key, {mutation}) answered {code}; body {Convert.ToHexString(body)}");
            }
            else if ((code is StatusCode.Unavailable or StatusCode.Aborted or StatusCode.DataLoss or StatusCode.DeadlineExceeded) && notes.Count < 20)
            {
                notes.Add($"seed {seed} #{i}: {method.FullName} ({kind} key, {mutation}) answered {code}; body {Convert.ToHexString(body[..Math.Min(body.Length, 200)])}");
            }

            if (code != StatusCode.OK && after != digest)
            {
                failures.Add($"seed {seed} #{i}: {method.FullName} ({kind} key, {mutation}) answered {code} but changed the store ({digest} -> {after}); body {Convert.ToHexString(body)}");
            }

            digest = after;
        }

        // Streaming calls are reads (none of them may change anything, refused or not), run many at a time: a stream
        // such as Watch stays open until the client stops reading.
        var streamingCount = RequestsPerSeed - unaryCount;
        var gate = new SemaphoreSlim(32);
        var tasks = new List<Task<string?>>();
        for (var i = 0; i < streamingCount; i++)
        {
            var method = streaming[i % streaming.Count];
            var (kind, channel) = PickCaller(rng, callers);
            var (body, mutation) = Mutations.Make(method.InputType, vocabulary, rng);
            var index = i;
            await gate.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var (code, _) = await RpcCatalog.CallAsync(channel, method, body, openFor: TimeSpan.FromMilliseconds(300));
                    lock (counts)
                    {
                        Count(counts, code);
                    }

                    return code is StatusCode.Unknown or StatusCode.Internal
                        ? $"seed {seed} stream #{index}: {method.FullName} ({kind} key, {mutation}) answered {code}; body {Convert.ToHexString(body)}"
                        : null;
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        failures.AddRange((await Task.WhenAll(tasks)).OfType<string>());
        sent += streamingCount;
        var afterStreams = await DigestAsync(server);
        if (afterStreams != digest)
        {
            failures.Add($"seed {seed}: the streaming reads changed the store ({digest} -> {afterStreams})");
        }

        // Still answering, and nothing was logged as an error.
        var check = await server.Authorization.CheckAsync(Requests.Check("user:olivia", "view", "project:storefront"));
        Assert.NotEqual(Decision.Unspecified, check.Decision);
        foreach (var warning in server.Logs.Since(0).Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Take(5))
        {
            notes.Add($"seed {seed}: server warning: {warning.Message} {warning.Exception?.GetType().Name}: {warning.Exception?.Message}");
        }

        server.AssertNoErrors();
        output.WriteLine($"seed {seed}: {sent} requests ({unaryCount} unary, {streamingCount} streaming)");
        foreach (var (_, channel) in callers.Skip(3))
        {
            channel.Dispose();
        }
    }

    private static (string Kind, GrpcChannel Channel) PickCaller(Random rng, (string Kind, GrpcChannel Channel)[] callers)
    {
        // Mostly the admin key, which reaches every RPC; a sample with the other kinds and with none.
        var roll = rng.Next(100);
        return roll < 85 ? callers[0] : callers[1 + (roll % 3)];
    }

    private static void Count(SortedDictionary<string, int> counts, StatusCode code)
    {
        var name = code == RpcCatalog.Open ? "stream left open" : code.ToString();
        counts[name] = counts.GetValueOrDefault(name) + 1;
    }

    // What a refused request must not change: the store's revision and its newest audit event.
    private static async Task<(long Revision, long AuditEvent)> DigestAsync(StoreServer server) =>
        (await server.Store.Model.CurrentRevisionAsync(), await server.Store.Audit.NewestIdAsync());

    /// <summary>Names that exist on the server (types, ids, relations, subjects) and its schema, to build valid requests from.</summary>
    private sealed record Vocabulary(string Schema, IReadOnlyList<V1.ObjectRef> Objects, IReadOnlyList<SubjectRef> Subjects, IReadOnlyList<string> Relations, IReadOnlyList<string> Types)
    {
        public static async Task<Vocabulary> ReadAsync(StoreServer server)
        {
            var model = await server.Store.Model.LoadAsync();
            var relationships = model.Relationships;
            return new Vocabulary(
                model.SchemaText ?? string.Empty,
                [.. relationships.Select(r => new V1.ObjectRef { Type = r.Resource.Type, Id = r.Resource.Id }).DistinctBy(o => (o.Type, o.Id))],
                [.. relationships.Select(r => new SubjectRef { Object = new V1.ObjectRef { Type = r.Subject.Type, Id = r.Subject.Id }, Relation = r.Subject.Relation ?? string.Empty }).DistinctBy(s => s.ToString())],
                [.. relationships.Select(r => r.Relation).Concat(["view", "edit", "deploy", "admin", "member", "owner", "manage_users"]).Distinct()],
                [.. relationships.Select(r => r.Resource.Type).Distinct()]);
        }
    }

    /// <summary>Builds a plausible request from the descriptor and the vocabulary, then mutates it.</summary>
    private static class Mutations
    {
        private static readonly string[] Kinds =
        [
            "none", "flip bits", "insert bytes", "delete bytes", "truncate", "long string", "empty string", "odd string",
            "extreme number", "unknown enum", "bad time", "many items", "unknown field", "drop a field",
        ];

        public static (byte[] Body, string Mutation) Make(MessageDescriptor type, Vocabulary words, Random rng)
        {
            var message = Generate(type, words, rng, depth: 0);
            var kind = Kinds[rng.Next(Kinds.Length)];
            switch (kind)
            {
                case "long string":
                    SetRandom(message, rng, FieldType.String, _ => new string((char)('a' + rng.Next(26)), rng.Next(2) == 0 ? 5_000 : 300_000));
                    break;
                case "empty string":
                    SetRandom(message, rng, FieldType.String, _ => string.Empty);
                    break;
                case "odd string":
                    SetRandom(message, rng, FieldType.String, _ => Odd[rng.Next(Odd.Length)]);
                    break;
                case "extreme number":
                    SetRandom(message, rng, null, f => Extreme(f, rng));
                    break;
                case "unknown enum":
                    SetRandom(message, rng, FieldType.Enum, _ => rng.Next(2) == 0 ? 12_345 : -7);
                    break;
                case "bad time":
                    foreach (var time in Messages(message).OfType<Timestamp>())
                    {
                        (time.Seconds, time.Nanos) = rng.Next(3) switch { 0 => (long.MaxValue, 0), 1 => (long.MinValue, -1), _ => (0L, 1_000_000_000) };
                    }

                    break;
                case "many items":
                    Grow(message, rng);
                    break;
                case "drop a field":
                    var present = message.Descriptor.Fields.InFieldNumberOrder().ToList();
                    if (present.Count > 0)
                    {
                        present[rng.Next(present.Count)].Accessor.Clear(message);
                    }

                    break;
            }

            var bytes = message.ToByteArray();
            switch (kind)
            {
                case "flip bits":
                    for (var i = rng.Next(1, 4); i > 0 && bytes.Length > 0; i--)
                    {
                        bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    }

                    break;
                case "insert bytes":
                {
                    var extra = new byte[rng.Next(1, 16)];
                    rng.NextBytes(extra);
                    var at = rng.Next(bytes.Length + 1);
                    bytes = [.. bytes[..at], .. extra, .. bytes[at..]];
                    break;
                }

                case "delete bytes" when bytes.Length > 0:
                {
                    var at = rng.Next(bytes.Length);
                    var count = rng.Next(1, Math.Min(16, bytes.Length - at) + 1);
                    bytes = [.. bytes[..at], .. bytes[(at + count)..]];
                    break;
                }

                case "truncate" when bytes.Length > 0:
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                case "unknown field":
                    bytes = [.. bytes, .. UnknownField(rng)];
                    break;
            }

            return (bytes, kind);
        }

        private static readonly string[] Odd =
        [
            " ", "\0", "user:", ":", "#", "@", "*", "a:b:c", "ÿ\u202e\ud800", "DROP TABLE relationships;--", "../../etc/passwd",
            "%00", "\t\n", "user:alice#", "organization:*", new string('é', 300), "1e400", "-1", "99999999999999999999999",
        ];

        private static object Extreme(FieldDescriptor field, Random rng) => field.FieldType switch
        {
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => rng.Next(3) switch { 0 => int.MaxValue, 1 => int.MinValue, _ => -1 },
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => rng.Next(2) == 0 ? long.MaxValue : long.MinValue,
            FieldType.UInt32 or FieldType.Fixed32 => uint.MaxValue,
            FieldType.UInt64 or FieldType.Fixed64 => ulong.MaxValue,
            FieldType.Double => rng.Next(2) == 0 ? double.NaN : double.MaxValue,
            FieldType.Float => float.PositiveInfinity,
            FieldType.Enum => int.MaxValue,
            FieldType.Bool => true,
            _ => throw new ArgumentOutOfRangeException(nameof(field), field.FieldType, "not a number"),
        };

        // Sets one singular field of `type` (any number type when null) somewhere in the message tree.
        private static void SetRandom(IMessage root, Random rng, FieldType? type, Func<FieldDescriptor, object> value)
        {
            var candidates = Messages(root)
                .SelectMany(m => m.Descriptor.Fields.InFieldNumberOrder().Where(f => !f.IsRepeated && !f.IsMap && Matches(f, type)).Select(f => (m, f)))
                .ToList();
            if (candidates.Count == 0)
            {
                return;
            }

            var (owner, field) = candidates[rng.Next(candidates.Count)];
            var set = value(field);
            field.Accessor.SetValue(owner, field.FieldType == FieldType.Enum && set is int number ? number : set);
        }

        private static bool Matches(FieldDescriptor field, FieldType? type) => type is { } wanted
            ? field.FieldType == wanted
            : field.FieldType is not (FieldType.String or FieldType.Bytes or FieldType.Message or FieldType.Group);

        // Repeats a repeated field's first item many times (or fills a repeated string).
        private static void Grow(IMessage root, Random rng)
        {
            var lists = Messages(root)
                .SelectMany(m => m.Descriptor.Fields.InFieldNumberOrder().Where(f => f.IsRepeated && !f.IsMap).Select(f => (m, f)))
                .ToList();
            if (lists.Count == 0)
            {
                return;
            }

            var (owner, field) = lists[rng.Next(lists.Count)];
            var list = (System.Collections.IList)field.Accessor.GetValue(owner);
            object item = list.Count > 0 ? list[0]! : field.FieldType switch
            {
                FieldType.String => "x",
                FieldType.Message => field.MessageType.Parser.ParseFrom(ByteString.Empty),
                FieldType.Enum => 1,
                _ => 1,
            };
            var times = rng.Next(2) == 0 ? 1_001 : 20_000;
            for (var i = 0; i < times; i++)
            {
                list.Add(item);
            }
        }

        // Every message in the tree, the root first.
        private static IEnumerable<IMessage> Messages(IMessage root)
        {
            yield return root;
            foreach (var field in root.Descriptor.Fields.InFieldNumberOrder().Where(f => f.FieldType == FieldType.Message && !f.IsMap))
            {
                var value = field.Accessor.GetValue(root);
                var children = field.IsRepeated ? ((System.Collections.IEnumerable)value).OfType<IMessage>() : value is IMessage one ? [one] : [];
                foreach (var child in children)
                {
                    foreach (var nested in Messages(child))
                    {
                        yield return nested;
                    }
                }
            }
        }

        private static byte[] UnknownField(Random rng)
        {
            var number = rng.Next(1_000, 100_000);
            return rng.Next(2) == 0
                ? [.. Varint((ulong)(number << 3)), .. Varint((ulong)rng.NextInt64())]
                : [.. Varint((ulong)((number << 3) | 2)), 3, 1, 2, 3];
        }

        private static byte[] Varint(ulong value)
        {
            var bytes = new List<byte>();
            do
            {
                var low = (byte)(value & 0x7f);
                value >>= 7;
                bytes.Add(value == 0 ? low : (byte)(low | 0x80));
            }
            while (value != 0);
            return [.. bytes];
        }

        // A request of `type` whose fields hold names the server knows, as a client would send.
        private static IMessage Generate(MessageDescriptor type, Vocabulary words, Random rng, int depth)
        {
            var message = type.Parser.ParseFrom(ByteString.Empty);
            switch (message)
            {
                case V1.ObjectRef o:
                    var known = words.Objects[rng.Next(words.Objects.Count)];
                    (o.Type, o.Id) = (known.Type, known.Id);
                    return message;
                case SubjectRef s:
                    s.MergeFrom(words.Subjects[rng.Next(words.Subjects.Count)]);
                    return message;
                case Timestamp t:
                    (t.Seconds, t.Nanos) = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - rng.Next(86_400 * 30), 0);
                    return message;
            }

            var oneofChosen = new HashSet<OneofDescriptor>();
            foreach (var field in type.Fields.InFieldNumberOrder())
            {
                if (field.RealContainingOneof is { } oneof && !oneofChosen.Add(oneof))
                {
                    continue;
                }

                if (field.IsMap || rng.Next(10) == 0 || (field.FieldType == FieldType.Message && depth > 4))
                {
                    continue;
                }

                if (field.IsRepeated)
                {
                    var list = (System.Collections.IList)field.Accessor.GetValue(message);
                    for (var i = rng.Next(1, 3); i > 0; i--)
                    {
                        list.Add(Value(field, words, rng, depth));
                    }
                }
                else
                {
                    field.Accessor.SetValue(message, Value(field, words, rng, depth));
                }
            }

            return message;
        }

        private static object Value(FieldDescriptor field, Vocabulary words, Random rng, int depth) => field.FieldType switch
        {
            FieldType.String => Text(field.Name, words, rng),
            FieldType.Bool => rng.Next(2) == 0,
            FieldType.Enum => field.EnumType.Values[rng.Next(field.EnumType.Values.Count)].Number,
            FieldType.Message => Generate(field.MessageType, words, rng, depth + 1),
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => rng.Next(0, 20),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => (long)rng.Next(0, 20),
            FieldType.UInt32 or FieldType.Fixed32 => (uint)rng.Next(0, 20),
            FieldType.UInt64 or FieldType.Fixed64 => (ulong)rng.Next(0, 20),
            FieldType.Double => rng.NextDouble(),
            FieldType.Float => (float)rng.NextDouble(),
            FieldType.Bytes => ByteString.CopyFromUtf8("x"),
            _ => throw new ArgumentOutOfRangeException(nameof(field), field.FieldType, "unexpected field type"),
        };

        // A value suited to the field's name: a type, an id, a relation, an email, the schema, a token...
        private static string Text(string name, Vocabulary words, Random rng)
        {
            var known = words.Objects[rng.Next(words.Objects.Count)];
            if (name.Contains("schema", StringComparison.Ordinal))
            {
                return words.Schema;
            }

            if (name.Contains("email", StringComparison.Ordinal))
            {
                return $"fuzz{rng.Next(100)}@example.com";
            }

            if (name.Contains("type", StringComparison.Ordinal))
            {
                return words.Types[rng.Next(words.Types.Count)];
            }

            if (name.Contains("id", StringComparison.Ordinal) || name == "key")
            {
                return known.Id;
            }

            if (name.Contains("token", StringComparison.Ordinal) || name.Contains("cursor", StringComparison.Ordinal) || name.Contains("at_least", StringComparison.Ordinal)
                || name.Contains("revision", StringComparison.Ordinal) || name.Contains("position", StringComparison.Ordinal) || name.Contains("after", StringComparison.Ordinal))
            {
                return rng.Next(3) == 0 ? string.Empty : rng.Next(1, 5).ToString(CultureInfo.InvariantCulture);
            }

            if (name.Contains("subject", StringComparison.Ordinal) || name.Contains("actor", StringComparison.Ordinal))
            {
                var subject = words.Subjects[rng.Next(words.Subjects.Count)].Object;
                return $"{subject.Type}:{subject.Id}";
            }

            return words.Relations[rng.Next(words.Relations.Count)];
        }
    }
}
