using System.Globalization;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.V1;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Grpc;

/// <summary>authz.v1.SchemaService: the schema is stored as a new version and a new engine is swapped in whole.</summary>
internal sealed class SchemaGrpcService(ModelWriter writer, EngineHolder holder, IOptions<AuthzOptions> options) : SchemaService.SchemaServiceBase
{
    /// <summary>The longest part of a ValidateModel request, in characters (256 KiB of text).</summary>
    internal const int MaxModelPartLength = 262_144;

    /// <summary>The most relationships one ValidateModel loads.</summary>
    internal const int MaxModelRelationships = 10_000;

    /// <summary>The most assertions one ValidateModel evaluates (each within the evaluation budget).</summary>
    internal const int MaxModelAssertions = 1000;

    private readonly int _evaluationBudget = options.Value.EvaluationBudget;

    public override async Task<WriteSchemaResponse> WriteSchema(WriteSchemaRequest request, ServerCallContext context)
    {
        var (revision, warnings) = await writer.WriteSchemaAsync(request.Schema, request.Force, CallActor.Of(context), context.CancellationToken)
            .ConfigureAwait(false);
        var response = new WriteSchemaResponse { Revision = revision.ToString(CultureInfo.InvariantCulture) };
        response.Warnings.AddRange(warnings.Select(ToMessage));
        return response;
    }

    public override Task<ReadSchemaResponse> ReadSchema(ReadSchemaRequest request, ServerCallContext context)
    {
        var engine = holder.Current;
        var revision = engine.Revision;
        return Task.FromResult(new ReadSchemaResponse
        {
            Schema = engine.Schema.Text,
            Revision = revision.ToString(CultureInfo.InvariantCulture),
        });
    }

    /// <summary>
    /// Validates a model on a fresh engine of its own: nothing stored, the engine in force untouched. Authority (admin
    /// keys only) was decided by the authentication interceptor on the resolved method before this runs; the sizes are
    /// checked before any parsing, and evaluation is bounded by the assertion count and the evaluation budget.
    /// </summary>
    public override Task<ValidateModelResponse> ValidateModel(ValidateModelRequest request, ServerCallContext context)
    {
        foreach (var (field, text) in new[] { ("schema", request.Schema), ("relationships", request.Relationships), ("assertions", request.Assertions) })
        {
            if (text.Length > MaxModelPartLength)
            {
                RequestValidation.Throw(RequestValidation.Violation(field, $"{text.Length} characters; at most {MaxModelPartLength} are validated at once"));
            }
        }

        var result = ModelValidation.Validate(
            request.Schema, request.Relationships, request.Assertions, _evaluationBudget, MaxModelRelationships, MaxModelAssertions, context.CancellationToken);
        var response = new ValidateModelResponse { RelationshipCount = result.RelationshipCount, AssertionCount = result.AssertionCount };
        response.Problems.AddRange(result.Problems.Select(problem => new V1.ModelProblem
        {
            Part = problem.Part switch
            {
                Core.Validation.ModelPart.Schema => V1.ModelPart.Schema,
                Core.Validation.ModelPart.Relationships => V1.ModelPart.Relationships,
                _ => V1.ModelPart.Assertions,
            },
            Line = problem.Line,
            Column = problem.Column,
            Message = problem.Message,
        }));
        response.Warnings.AddRange(result.Warnings.Select(ToMessage));
        return Task.FromResult(response);
    }

    private static V1.SchemaWarning ToMessage(Core.Schema.SchemaWarning warning) =>
        new() { Line = warning.Line, Column = warning.Column, Message = warning.Detail };
}
