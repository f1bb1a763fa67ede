using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests;

/// <summary>One HTTP method on one route of the running Api, as its router knows it.</summary>
/// <param name="Method">GET, POST, ...</param>
/// <param name="Pattern">The route as written, e.g. <c>/jobs/{id}/cancel</c>.</param>
/// <param name="RequiresKey">Whether the endpoint asks for an API key (the product's API, as opposed to pages and probes).</param>
/// <param name="Described">Whether the endpoint is meant to be in the OpenAPI document (a handler not excluded from it).</param>
public sealed record AppEndpoint(string Method, string Pattern, bool RequiresKey, bool Described)
{
    /// <summary>True when <paramref name="path"/> (no query) is a request to this route.</summary>
    public bool Matches(string method, string path)
    {
        var segments = Pattern.Trim('/').Split('/');
        var parts = path.Split('?')[0].Trim('/').Split('/');
        return string.Equals(method, Method, StringComparison.OrdinalIgnoreCase)
            && segments.Length == parts.Length
            && segments.Zip(parts).All(p => p.First.StartsWith('{') || string.Equals(p.First, p.Second, StringComparison.Ordinal));
    }

    public override string ToString() => $"{Method} {Pattern}";
}

/// <summary>
/// The endpoints the Api actually maps, read from its router, so a test that must cover "every
/// endpoint" follows the product instead of a list typed into the test.
/// </summary>
public static class AppEndpoints
{
    public static IReadOnlyList<AppEndpoint> Of(ApiFactory factory) =>
        [.. factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(method => new AppEndpoint(
                method,
                "/" + e.RoutePattern.RawText!.Trim('/'),
                e.Metadata.GetMetadata<IAuthorizeData>() is not null,
                e.Metadata.GetMetadata<System.Reflection.MethodInfo>() is not null
                    && e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })))
            .Distinct()
            .OrderBy(e => e.Pattern, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal)];
}
