using AuthzGrpc.Core.Schema;
using AuthzGrpc.V1;
using Google.Protobuf;
using Grpc.Core;
using CoreRelationship = AuthzGrpc.Core.Model.Relationship;

namespace AuthzGrpc.Cli;

// relationship write|touch|delete|read|export|import (RelationshipService). Relationships are written in the text form
// type:id#relation@type:id[#relation], one per argument or per line; export prints that form (or JSON lines) and
// import reads either, so an export imports back exactly.
internal sealed partial class AuthzCtl
{
    /// <summary>The most updates a WriteRelationships call takes (the server's Authz:MaxWriteBatch default).</summary>
    public const int MaxImportBatch = 1000;

    private static readonly JsonParser RelationshipJson = new(JsonParser.Settings.Default);

    private Command RelationshipUpdateCommand(string name, Operation operation, string description)
    {
        var relationships = new Argument<string[]>("relationships")
        {
            Description = "Relationships, type:id#relation@type:id or type:id#relation@type:id#relation",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command(name, description + " (WriteRelationships)") { relationships };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var request = new WriteRelationshipsRequest();
            request.Updates.AddRange(result.GetValue(relationships)!.Select(r => new RelationshipUpdate { Operation = operation, Relationship = ToProto(CoreRelationship.Parse(r)) }));
            var reply = await new RelationshipService.RelationshipServiceClient(channel).WriteRelationshipsAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => text.WriteLine($"{name} of {request.Updates.Count} at revision {reply.Revision}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command RelationshipReadCommand()
    {
        var resource = new Argument<string>("resource") { Description = "The resources: a type, or type:id" };
        var relation = new Argument<string?>("relation") { Description = "Only this relation", Arity = ArgumentArity.ZeroOrOne };
        var subject = new Argument<string?>("subject") { Description = "Only these subjects: a type, type:id or type:id#relation", Arity = ArgumentArity.ZeroOrOne };
        var consistency = ConsistencyOption();
        var command = new Command("read", "Print the stored relationships that match, one per line (ReadRelationships; JSON lines with --output json)")
        {
            resource, relation, subject, consistency,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var request = new ReadRelationshipsRequest
            {
                Filter = FilterOf(result.GetValue(resource)!, result.GetValue(relation), result.GetValue(subject)),
                Consistency = result.GetValue(consistency),
            };
            var printer = globals.PrinterOf(result, output);
            using var call = new RelationshipService.RelationshipServiceClient(channel).ReadRelationships(request, cancellationToken: cancellation);
            var count = 0;
            await foreach (var reply in call.ResponseStream.ReadAllAsync(cancellation))
            {
                printer.Write(reply, text => text.WriteLine(Describe(reply.Relationship)));
                count++;
            }

            printer.WriteNoneFoundIfEmpty(count, "relationships");
            return ExitCodes.Success;
        }));
        return command;
    }

    // resource: type or type:id; subject: type, type:id or type:id#relation.
    private static RelationshipFilter FilterOf(string resource, string? relation, string? subject)
    {
        var (resourceType, resourceId) = SplitType(resource);
        var filter = new RelationshipFilter { ResourceType = resourceType, ResourceId = resourceId, Relation = relation ?? string.Empty };
        if (subject is not null)
        {
            var hash = subject.IndexOf('#', StringComparison.Ordinal);
            var (subjectType, subjectId) = SplitType(hash < 0 ? subject : subject[..hash]);
            filter.Subject = new SubjectFilter { SubjectType = subjectType, SubjectId = subjectId };
            if (hash >= 0)
            {
                filter.Subject.Relation = subject[(hash + 1)..];
            }
        }

        return filter;
    }

    private static (string Type, string Id) SplitType(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (text, string.Empty) : (text[..colon], text[(colon + 1)..]);
    }

    private Command RelationshipExportCommand()
    {
        var file = new Argument<string?>("file") { Description = "Where to write them (default: standard output)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("export",
            "Print every stored relationship, one per line in the text form (JSON lines with --output json), for 'relationship import'. " +
            "Each type of the schema is read in turn (ReadRelationships), each at the newest revision: writes made during the export may be in it or not")
        {
            file,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var path = result.GetValue(file);
            await using var target = path is null ? null : new StreamWriter(path);
            var printer = globals.PrinterOf(result, target ?? output);
            var schema = await new SchemaService.SchemaServiceClient(channel).ReadSchemaAsync(new ReadSchemaRequest(), cancellationToken: cancellation);
            var client = new RelationshipService.RelationshipServiceClient(channel);
            var (count, revision) = (0L, schema.Revision);
            foreach (var type in CompiledSchema.Compile(schema.Schema).Types.Select(t => t.Name))
            {
                // Each type at least as fresh as the schema read and the types before it.
                var request = new ReadRelationshipsRequest { Filter = new RelationshipFilter { ResourceType = type }, Consistency = new Consistency { AtLeast = revision } };
                using var call = client.ReadRelationships(request, cancellationToken: cancellation);
                await foreach (var reply in call.ResponseStream.ReadAllAsync(cancellation))
                {
                    printer.Write(reply.Relationship, text => text.WriteLine(Describe(reply.Relationship)));
                    (count, revision) = (count + 1, reply.Revision);
                }
            }

            if (path is not null)
            {
                error.WriteLine($"exported {count} relationships to {path} at revision {revision}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private Command RelationshipImportCommand()
    {
        var file = new Argument<string>("file") { Description = "A file of relationships, one per line, in the text form or as JSON lines (as 'relationship export' writes them); '-' for standard input" };
        var batch = new Option<int>("--batch-size")
        {
            Description = $"Relationships per WriteRelationships call, 1 to {MaxImportBatch}",
            DefaultValueFactory = _ => MaxImportBatch,
        };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > MaxImportBatch)
            {
                r.AddError($"--batch-size: 1 to {MaxImportBatch}");
            }
        });
        var progress = new Option<bool>("--progress") { Description = "Show progress on standard error (the default when it is a terminal)" };
        var command = new Command("import",
            "Add every relationship of the file that is missing, in batches (WriteRelationships, TOUCH). Each batch commits on its own; " +
            "after a failure, importing the same file again is safe: relationships already stored are left as they are")
        {
            file, batch, progress,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var path = result.GetValue(file)!;
            using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path);
            var showProgress = result.GetValue(progress) || (ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected);
            var import = new RelationshipImport(new RelationshipService.RelationshipServiceClient(channel), result.GetValue(batch), showProgress ? error : null);
            try
            {
                await import.RunAsync(reader, cancellation);
            }
            catch (Exception e) when (e is FormatException or RpcException)
            {
                error.WriteLine($"{path}: stopped at line {import.Line} after {import.Imported} relationships were imported (importing again is safe)");
                throw;
            }

            globals.PrinterOf(result, output).WriteValue(
                new { import.Imported, import.Batches, import.Revision },
                text => text.WriteLine($"imported {import.Imported} relationships in {import.Batches} batches at revision {import.Revision}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    // A line of an import: a JSON line (from --output json) or the text form.
    private static V1.Relationship ParseRelationshipLine(string line) =>
        line.StartsWith('{') ? RelationshipJson.Parse<V1.Relationship>(line) : ToProto(CoreRelationship.Parse(line));

    // The text form's '[expiration:...]' becomes the expiry and its '[name:{...}]' the caveat: a time-boxed or caveated
    // grant never turns permanent or unconditional on the way.
    private static V1.Relationship ToProto(CoreRelationship relationship) => new()
    {
        Resource = ToProto(relationship.Resource),
        Relation = relationship.Relation,
        Subject = new V1.SubjectRef { Object = new V1.ObjectRef { Type = relationship.Subject.Type, Id = relationship.Subject.Id }, Relation = relationship.Subject.Relation ?? string.Empty },
        OptionalExpiresAt = relationship.ExpiresAt is { } expiresAt ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt) : null,
        OptionalCaveat = relationship.Caveat is { } caveat
            ? new ContextualizedCaveat
            {
                CaveatName = caveat.Name,
                Context = caveat.Context.IsEmpty ? null : Google.Protobuf.JsonParser.Default.Parse<Google.Protobuf.WellKnownTypes.Struct>(caveat.Context.ToJson()),
            }
            : null,
    };

    // Reads the file line by line and writes it a batch at a time, so memory stays bounded whatever the file's size.
    private sealed class RelationshipImport(RelationshipService.RelationshipServiceClient client, int batchSize, TextWriter? progress)
    {
        public long Line { get; private set; }

        public long Imported { get; private set; }

        public int Batches { get; private set; }

        public string Revision { get; private set; } = string.Empty;

        public async Task RunAsync(StreamReader reader, CancellationToken cancellation)
        {
            var request = new WriteRelationshipsRequest();
            while (await reader.ReadLineAsync(cancellation) is { } text)
            {
                Line++;
                var line = text.Trim();
                if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }

                request.Updates.Add(new RelationshipUpdate { Operation = Operation.Touch, Relationship = ParseLine(line) });
                if (request.Updates.Count == batchSize)
                {
                    await WriteAsync(request, reader, cancellation);
                    request = new WriteRelationshipsRequest();
                }
            }

            if (request.Updates.Count > 0)
            {
                await WriteAsync(request, reader, cancellation);
            }

            progress?.WriteLine();
        }

        private V1.Relationship ParseLine(string line)
        {
            try
            {
                return ParseRelationshipLine(line);
            }
            catch (Exception e) when (e is FormatException or InvalidProtocolBufferException or InvalidJsonException)
            {
                throw new FormatException($"line {Line}: {e.Message}", e);
            }
        }

        private async Task WriteAsync(WriteRelationshipsRequest request, StreamReader reader, CancellationToken cancellation)
        {
            var reply = await client.WriteRelationshipsAsync(request, cancellationToken: cancellation);
            (Imported, Batches, Revision) = (Imported + request.Updates.Count, Batches + 1, reply.Revision);
            if (progress is not null)
            {
                var stream = reader.BaseStream;
                var share = stream.CanSeek && stream.Length > 0 ? $" ({100 * stream.Position / stream.Length}%)" : string.Empty;
                progress.Write($"\rimported {Imported} relationships{share}");
            }
        }
    }
}
