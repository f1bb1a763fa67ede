using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// One console line per log entry with the trace and span ids of the current activity, so a line in
/// a terminal can be found in the trace view (and the reverse); secrets are masked by
/// <see cref="SecretRedactor"/>. Shape: <c>12:00:00.123 info Category[1] trace_id=… span_id=… message</c>.
/// </summary>
public sealed class TraceConsoleFormatter() : ConsoleFormatter(FormatterName)
{
    /// <summary>The name to select it by (<c>Logging:Console:FormatterName</c>).</summary>
    public const string FormatterName = "trace";

    /// <inheritdoc />
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        textWriter.Write(DateTimeOffset.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(' ');
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id.ToString(CultureInfo.InvariantCulture));
        textWriter.Write(']');
        if (Activity.Current is { } activity)
        {
            textWriter.Write(" trace_id=");
            textWriter.Write(activity.TraceId.ToHexString());
            textWriter.Write(" span_id=");
            textWriter.Write(activity.SpanId.ToHexString());
        }

        textWriter.Write(' ');
        textWriter.WriteLine(SecretRedactor.Redact(message, logEntry.State as IReadOnlyList<KeyValuePair<string, object?>>));
        if (logEntry.Exception is { } exception)
        {
            textWriter.WriteLine(SecretRedactor.Redact(exception.ToString()));
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
