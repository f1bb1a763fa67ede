using System.Globalization;
using Api.Auth;
using Api.Http;
using Api.Sql;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.FileProviders;
using Npgsql;

namespace Api.Apis;

/// <summary>
/// The admin area: a static page (HTML, JS, CSS embedded in the assembly, no build step) that asks
/// for an admin key, keeps it in sessionStorage and calls the jobs and stats endpoints with it. The
/// page itself holds no data, so it is served to anyone; every call it makes needs the admin scope.
/// </summary>
public static class AdminPage
{
    /// <summary>The configuration key of the Aspire dashboard's base URL, used to link a job to its trace.</summary>
    public const string DashboardUrlSetting = "Api:DashboardUrl";

    /// <summary>The embedded web root (<c>wwwroot/</c>).</summary>
    public static IFileProvider Files { get; } = new EmbeddedFileProvider(typeof(AdminPage).Assembly, "Api.wwwroot");

    /// <summary>Maps <c>/admin</c> (the page; its scripts and styles are static files under <c>/admin/</c>) and the trace link of a job, which only the page uses.</summary>
    public static IEndpointRouteBuilder MapAdminPage(this IEndpointRouteBuilder app)
    {
        // Routing treats the trailing slash as optional: this also answers /admin/.
        app.MapGet("/admin", GetPage).ExcludeFromDescription();
        app.MapGet("/admin/jobs/{id}/trace", JobTrace).RequireAuthorization(ApiScopes.Admin).WithTags("Admin")
            .WithSummary("The trace id of the request that enqueued a job, and its URL in the Aspire dashboard when Api:DashboardUrl is set");
        return app;
    }

    /// <summary>The admin page's HTML.</summary>
    public static FileStreamHttpResult GetPage() =>
        TypedResults.File(Files.GetFileInfo("admin/index.html").CreateReadStream(), "text/html; charset=utf-8");

    /// <summary><c>GET /admin/jobs/{id}/trace</c>: trace id and URL are null when the job was enqueued outside a trace.</summary>
    public static async Task<Results<Ok<JobTraceView>, ProblemHttpResult>> JobTrace(
        string id, NpgsqlDataSource dataSource, IConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId) || jobId <= 0)
        {
            return ApiProblem.BadField("id", "a job id: a positive 64-bit integer");
        }

        await using var command = dataSource.CreateCommand(ApiSql.SelectTraceParent);
        command.Parameters.Add(new() { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return ApiProblem.Create(StatusCodes.Status404NotFound, "No such job", "No job with this id exists.", "id", "the id of an existing job", retryable: false);
        }

        // A W3C traceparent is "00-{32 hex trace id}-{16 hex span id}-{flags}".
        var traceParent = reader.GetOrdinal("trace_parent");
        var parts = reader.IsDBNull(traceParent) ? [] : reader.GetString(traceParent).Split('-');
        var traceId = parts.Length == 4 && parts[1].Length == 32 ? parts[1] : null;
        var dashboard = configuration[DashboardUrlSetting];
        var url = traceId is not null && Uri.TryCreate(dashboard, UriKind.Absolute, out var baseUri) && baseUri.Scheme is "http" or "https"
            ? $"{baseUri.AbsoluteUri.TrimEnd('/')}/traces/detail/{traceId}"
            : null;
        return TypedResults.Ok(new JobTraceView(traceId, url));
    }
}

/// <summary>Where a job's trace is.</summary>
/// <param name="TraceId">The W3C trace id of the request that enqueued it; null when there was none.</param>
/// <param name="Url">The trace in the Aspire dashboard; null when the Api is not told the dashboard's URL (<c>Api:DashboardUrl</c>).</param>
public sealed record JobTraceView(string? TraceId, string? Url);
