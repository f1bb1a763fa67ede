namespace Api.Http;

/// <summary>
/// Sets the security headers on every response, errors included (set when the response starts,
/// after any handler cleared it). The admin page gets a CSP that allows only its own scripts,
/// styles and API calls; the API reference page also needs its inline start-up script; everything
/// else is JSON and may load nothing at all.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    /// <summary>The admin page's policy: same-origin files only, no inline code, no framing.</summary>
    public const string AdminPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";
    private const string ReferencePolicy =
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>Registers the headers and calls the rest of the pipeline.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            var headers = http.Response.Headers;
            var path = http.Request.Path;
            headers.ContentSecurityPolicy = path.StartsWithSegments("/admin") ? AdminPolicy
                : path.StartsWithSegments("/scalar") ? ReferencePolicy
                : ApiPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (!headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
