using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Api.Http;

/// <summary>
/// Turns "PostgreSQL cannot be reached right now" into 503 with <c>retryable: true</c> and a
/// Retry-After, instead of a 500 that a client would not retry. A request that failed this way
/// wrote nothing: every write is one transaction that either committed or did not start.
/// Other exceptions fall through to the default 500 ProblemDetails, without a stack trace.
/// </summary>
public sealed class UnavailableExceptionHandler(IProblemDetailsService problems, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (exception is BadHttpRequestException bad)
        {
            httpContext.Response.StatusCode = bad.StatusCode;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = ApiProblem.Describe(bad.StatusCode, "Bad request", "The request could not be read.", "request", "a well-formed HTTP request", retryable: false),
            }).ConfigureAwait(false);
        }

        if (!IsUnavailable(exception))
        {
            return false;
        }

        logger.LogWarning("PostgreSQL is unavailable: {Reason}", exception.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = ApiProblem.Describe(StatusCodes.Status503ServiceUnavailable, "Database unavailable",
                "The job database cannot be reached; nothing was written. Send the same request again shortly.", null, null, retryable: true),
        }).ConfigureAwait(false);
    }

    // Npgsql wraps socket errors and timeouts in a transient NpgsqlException; a bare socket error
    // or timeout comes from somewhere else (Redis) and is not the database's.
    private static bool IsUnavailable(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };
}
