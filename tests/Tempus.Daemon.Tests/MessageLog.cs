using Microsoft.Extensions.Logging;

namespace Tempus.Daemon.Tests;

/// <summary>A logger factory that keeps every message logged through it, to check what a host said.</summary>
internal sealed class MessageLog : ILoggerFactory, ILogger
{
    private readonly List<string> _messages = [];

    public bool Contains(string text)
    {
        lock (_messages)
        {
            return _messages.Any(m => m.Contains(text, StringComparison.Ordinal));
        }
    }

    public string All()
    {
        lock (_messages)
        {
            return string.Join(" | ", _messages);
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_messages)
        {
            _messages.Add(formatter(state, exception));
        }
    }

    public void Dispose()
    {
    }
}
