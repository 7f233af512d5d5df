using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Tests.Support;

/// <summary>Keeps every log entry of every level and category as text: the formatted message, each value of its
/// state, its scopes' and its exception's full text, so a test can look for what must never be logged.</summary>
public sealed class LogRecorder : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>Off, the recorder keeps nothing: recording every entry of every level costs more than many requests do.</summary>
    public bool Recording { get; set; } = true;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(LogRecorder recorder, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => recorder._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && recorder.Recording;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var entry = new List<string> { $"{logLevel} {category}: {formatter(state, exception)}" };
            if (state is IEnumerable<KeyValuePair<string, object?>> values) entry.AddRange(values.Select(v => $"{v.Key}={v.Value}"));
            recorder._scopes.ForEachScope((scope, text) => text.Add($"scope {scope}"), entry);
            if (exception is not null) entry.Add(exception.ToString());
            recorder._entries.Enqueue(string.Join("\n", entry));
        }
    }
}
