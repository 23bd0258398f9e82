using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>Builds requests from the text forms used in fixtures: <c>user:alice</c>, <c>group:eng#member</c>, <c>project:web</c>.</summary>
public static class Requests
{
    /// <summary>A subject from <c>type:id</c> or <c>type:id#relation</c>.</summary>
    public static SubjectRef Subject(string text)
    {
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        return new SubjectRef
        {
            Object = Object(hash < 0 ? text : text[..hash]),
            Relation = hash < 0 ? string.Empty : text[(hash + 1)..],
        };
    }

    /// <summary>An object from <c>type:id</c>.</summary>
    public static ObjectRef Object(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new ObjectRef { Type = text[..colon], Id = text[(colon + 1)..] };
    }

    /// <summary>A check of <paramref name="subject"/> doing <paramref name="action"/> on <paramref name="resource"/>.</summary>
    public static CheckRequest Check(string subject, string action, string resource) =>
        new() { Subject = Subject(subject), Action = action, Resource = Object(resource) };

    /// <summary>The same question as an explain request.</summary>
    public static ExplainRequest Explain(string subject, string action, string resource) =>
        new() { Subject = Subject(subject), Action = action, Resource = Object(resource) };

    /// <summary>Prints a subject as <c>type:id</c> or <c>type:id#relation</c>.</summary>
    public static string Text(SubjectRef subject) =>
        subject.Relation.Length == 0 ? $"{subject.Object.Type}:{subject.Object.Id}" : $"{subject.Object.Type}:{subject.Object.Id}#{subject.Relation}";

    /// <summary>Prints an object as <c>type:id</c>.</summary>
    public static string Text(ObjectRef value) => $"{value.Type}:{value.Id}";
}
