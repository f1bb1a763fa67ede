using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Api.Http;

/// <summary>
/// Every error the Api answers is an RFC 9457 ProblemDetails saying which field failed, what was
/// expected instead and whether sending the same request again may succeed (<c>retryable</c>).
/// </summary>
public static class ApiProblem
{
    /// <summary>The extension naming the request part that failed.</summary>
    public const string FieldExtension = "field";
    /// <summary>The extension saying what a valid value looks like.</summary>
    public const string ExpectedExtension = "expected";
    /// <summary>The extension saying whether the same request may succeed if sent again.</summary>
    public const string RetryableExtension = "retryable";

    /// <summary>400: <paramref name="field"/> is not what was <paramref name="expected"/>; resending it unchanged fails again.</summary>
    public static ProblemHttpResult BadField(string field, string expected, string? detail = null) =>
        Create(StatusCodes.Status400BadRequest, "Invalid request", detail ?? $"'{field}' must be {expected}.", field, expected, retryable: false);

    /// <summary>A ProblemDetails result with the Api's three extensions.</summary>
    public static ProblemHttpResult Create(int status, string title, string detail, string? field, string? expected, bool retryable) =>
        TypedResults.Problem(Describe(status, title, detail, field, expected, retryable));

    /// <summary>The ProblemDetails itself, for writers outside endpoint handlers.</summary>
    public static ProblemDetails Describe(int status, string title, string detail, string? field, string? expected, bool retryable)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        problem.Extensions[FieldExtension] = field;
        problem.Extensions[ExpectedExtension] = expected;
        problem.Extensions[RetryableExtension] = retryable;
        return problem;
    }

    /// <summary>Whether a request answered with <paramref name="status"/> may succeed unchanged later.</summary>
    public static bool IsRetryable(int status) =>
        status is StatusCodes.Status408RequestTimeout or StatusCodes.Status429TooManyRequests
            or StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout;
}
