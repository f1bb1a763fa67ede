using System.Text.RegularExpressions;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Masks the secrets a log line can pick up by accident: connection-string passwords (Npgsql and
/// StackExchange.Redis syntax), passwords in URLs, bearer tokens and API keys. Used by the console
/// formatter and by the OpenTelemetry log processor, so neither sink ever writes one.
/// </summary>
public static partial class SecretRedactor
{
    /// <summary>What replaces a secret.</summary>
    public const string Mask = "***";

    /// <summary>The text with every recognised secret replaced by <see cref="Mask"/>; null stays null.</summary>
    public static string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        text = KeyValueSecret().Replace(text, m => m.Groups["key"].Value + m.Groups["sep"].Value + Mask);
        text = BearerToken().Replace(text, m => m.Groups["scheme"].Value + " " + Mask);
        return UrlPassword().Replace(text, m => m.Groups["user"].Value + ":" + Mask + "@");
    }

    /// <summary>
    /// <see cref="Redact(string?)"/>, and also every value of a log call's named arguments whose name is a
    /// secret's (<see cref="IsSecretName"/>), wherever the message shows it.
    /// </summary>
    public static string? Redact(string? text, IEnumerable<KeyValuePair<string, object?>>? values)
    {
        if (string.IsNullOrEmpty(text) || values is null)
        {
            return Redact(text);
        }

        foreach (var (name, value) in values)
        {
            if (IsSecretName(name) && value?.ToString() is { Length: > 0 } secret)
            {
                text = text.Replace(secret, Mask, StringComparison.Ordinal);
            }
        }

        return Redact(text);
    }

    /// <summary>True for names of values that are secrets whatever they hold (a log template's <c>{Password}</c>, <c>{ApiKey}</c>).</summary>
    public static bool IsSecretName(string? name) => name is not null && SecretName().IsMatch(name);

    /// <summary>True when <see cref="Redact(string?)"/> would change the text.</summary>
    public static bool HasSecret(string? text) => !string.Equals(Redact(text), text, StringComparison.Ordinal);

    // key=value or key: value, up to the next separator of a connection string or query string.
    [GeneratedRegex(@"(?<key>\b[\w.:-]*?(?:password|passwd|pwd|api[-_]?key|token|secret))(?<sep>\s*[=:]\s*)(?!\*\*\*|\{)[^;,&\s""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    [GeneratedRegex(@"password|passwd|^pwd$|secret|token|api[-_]?key|^key$|connectionstring", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?<scheme>\b(?:Bearer|Basic))\s+(?!\*\*\*|\{)[A-Za-z0-9\-._~+/]+=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    [GeneratedRegex(@"(?<user>\b[a-z][a-z0-9+.-]*://[^:/@\s]+):(?!\*\*\*@)[^@/\s]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();
}
