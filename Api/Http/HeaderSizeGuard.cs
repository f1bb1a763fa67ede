using Microsoft.Extensions.Options;

namespace Api.Http;

/// <summary>
/// Refuses a request with an oversized header value with 431 and a ProblemDetails naming the header.
/// Kestrel already caps the total header size, but answers that without a body; this says which
/// header, and holds behind any front end or in-process host.
/// </summary>
public sealed class HeaderSizeGuard(RequestDelegate next, IOptions<ApiOptions> options, IProblemDetailsService problems)
{
    /// <summary>Checks the headers and calls the rest of the pipeline when they fit.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var limit = options.Value.MaxHeaderValueBytes;
        foreach (var (name, values) in context.Request.Headers)
        {
            if (values.Sum(v => v?.Length ?? 0) > limit)
            {
                context.Response.StatusCode = StatusCodes.Status431RequestHeaderFieldsTooLarge;
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = ApiProblem.Describe(StatusCodes.Status431RequestHeaderFieldsTooLarge, "Request header too large",
                        $"The header '{name}' is longer than {limit} bytes.", name, $"at most {limit} bytes", retryable: false),
                }).ConfigureAwait(false);
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }
}
