using OpenTelemetry;
using OpenTelemetry.Logs;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Runs before every log exporter and masks secrets (<see cref="SecretRedactor"/>) in the message,
/// the template, the attributes and the exception, so a connection string or an API key that
/// reaches a log call never leaves the process over OTLP.
/// </summary>
public sealed class RedactingLogProcessor : BaseProcessor<LogRecord>
{
    /// <inheritdoc />
    public override void OnEnd(LogRecord data)
    {
        ArgumentNullException.ThrowIfNull(data);
        data.FormattedMessage = SecretRedactor.Redact(data.FormattedMessage, data.Attributes);
        data.Body = SecretRedactor.Redact(data.Body);
        if (data.Attributes is { Count: > 0 } attributes && attributes.Any(IsSecret))
        {
            data.Attributes = [.. attributes.Select(a => IsSecret(a) ? new KeyValuePair<string, object?>(a.Key, Masked(a)) : a)];
        }

        if (data.Exception is { } exception && SecretRedactor.HasSecret(exception.ToString()))
        {
            data.Exception = new RedactedException(exception);
        }
    }

    // A value named like a secret is masked whole; any other string only where it holds one.
    private static bool IsSecret(KeyValuePair<string, object?> attribute) =>
        attribute.Value is not null && (SecretRedactor.IsSecretName(attribute.Key) || (attribute.Value is string s && SecretRedactor.HasSecret(s)));

    private static string? Masked(KeyValuePair<string, object?> attribute) =>
        SecretRedactor.IsSecretName(attribute.Key) ? SecretRedactor.Mask : SecretRedactor.Redact(attribute.Value as string);
}

/// <summary>Stands in for an exception whose text held a secret: same type name and stack, masked message.</summary>
public sealed class RedactedException(Exception original)
    : Exception($"{original.GetType().FullName}: {SecretRedactor.Redact(original.Message)}")
{
    private readonly string _stackTrace = SecretRedactor.Redact(original.StackTrace) ?? "";

    /// <inheritdoc />
    public override string StackTrace => _stackTrace;
}
