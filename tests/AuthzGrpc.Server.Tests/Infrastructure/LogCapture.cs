using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>One captured log entry; <paramref name="Fields"/> are its structured values by name (empty when it has none).</summary>
public sealed record LogEntry(
    long Sequence, LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception, IReadOnlyDictionary<string, object?> Fields)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message}{(Exception is null ? "" : " " + Exception)}";
}

/// <summary>Captures every log entry of a host, so tests can fail on unexpected errors (as grpc-dotnet's VerifyNoErrorsScope).</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly ConcurrentDictionary<string, int> _scopes = new(StringComparer.Ordinal);
    private long _sequence;

    /// <summary>How many log scopes loggers of <paramref name="category"/> have begun.</summary>
    public int ScopesBegun(string category) => _scopes.GetValueOrDefault(category);

    /// <summary>The sequence number the next entry will get; pass it to <see cref="Since"/>.</summary>
    public long Mark => Interlocked.Read(ref _sequence);

    /// <summary>Entries logged at or after <paramref name="mark"/>.</summary>
    public IReadOnlyList<LogEntry> Since(long mark) => [.. _entries.Where(e => e.Sequence >= mark)];

    /// <summary>Entries at Error or above logged at or after <paramref name="mark"/>.</summary>
    public IReadOnlyList<LogEntry> ErrorsSince(long mark) => [.. Since(mark).Where(e => e.Level >= LogLevel.Error)];

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._scopes.AddOrUpdate(category, 1, (_, count) => count + 1);
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var sequence = Interlocked.Increment(ref owner._sequence) - 1;
            var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (name, value) in pairs)
                {
                    // Last wins: a state may repeat a name, and capturing must never throw into the code that logs.
                    fields[name] = value;
                }
            }

            owner._entries.Enqueue(new LogEntry(sequence, logLevel, category, eventId, formatter(state, exception), exception, fields));
        }
    }
}
