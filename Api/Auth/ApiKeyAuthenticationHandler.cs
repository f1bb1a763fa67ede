using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Api.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Api.Auth;

/// <summary>
/// The <c>Authorization: Bearer &lt;key&gt;</c> scheme. A key matching a configured hash becomes a
/// principal named after the key with its scope as a claim. Answers are ProblemDetails: 401 for no
/// or a wrong key, 403 for a key whose scope is too small, 429 once an IP failed too often.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    FailedAuthenticationLimiter failures,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    private const string BearerPrefix = "Bearer ";
    private static readonly object LockedOutKey = new();

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers[HeaderNames.Authorization].ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var ip = Context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (failures.IsLockedOut(ip))
        {
            Context.Items[LockedOutKey] = true;
            return Task.FromResult(AuthenticateResult.Fail("too many failed authentications from this address"));
        }

        var found = header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) ? keys.Find(header[BearerPrefix.Length..].Trim()) : null;
        if (found is not { } key)
        {
            if (!failures.RecordFailure(ip))
            {
                Context.Items[LockedOutKey] = true;
            }

            return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), new Claim(ApiScopes.ClaimType, key.Scope)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(LockedOutKey))
        {
            Response.Headers.RetryAfter = ((int)Math.Ceiling(failures.Window.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return WriteAsync(StatusCodes.Status429TooManyRequests, "Too many failed authentications",
                "This address sent too many unknown API keys; wait before trying again.", "a known API key after the Retry-After delay", retryable: true);
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteAsync(StatusCodes.Status401Unauthorized, "Unauthenticated",
            "Send a known API key as 'Authorization: Bearer <key>'.", "Bearer <API key>", retryable: false);
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteAsync(StatusCodes.Status403Forbidden, "Forbidden",
            "This API key's scope does not allow this request.", $"a key with scope '{ApiScopes.Admin}'", retryable: false);

    private Task WriteAsync(int status, string title, string detail, string expected, bool retryable)
    {
        Response.StatusCode = status;
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = ApiProblem.Describe(status, title, detail, HeaderNames.Authorization, expected, retryable),
        }).AsTask();
    }
}
