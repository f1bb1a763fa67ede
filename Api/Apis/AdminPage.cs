using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.FileProviders;

namespace Api.Apis;

/// <summary>
/// The admin area: a static page (HTML, JS, CSS embedded in the assembly, no build step) that asks
/// for an admin key, keeps it in sessionStorage and calls the jobs and stats endpoints with it. The
/// page itself holds no data, so it is served to anyone; every call it makes needs the admin scope.
/// </summary>
public static class AdminPage
{
    /// <summary>The embedded web root (<c>wwwroot/</c>).</summary>
    public static IFileProvider Files { get; } = new EmbeddedFileProvider(typeof(AdminPage).Assembly, "Api.wwwroot");

    /// <summary>Maps <c>/admin</c> (the page; its scripts and styles are static files under <c>/admin/</c>).</summary>
    public static IEndpointRouteBuilder MapAdminPage(this IEndpointRouteBuilder app)
    {
        // Routing treats the trailing slash as optional: this also answers /admin/.
        app.MapGet("/admin", GetPage).ExcludeFromDescription();
        return app;
    }

    /// <summary>The admin page's HTML.</summary>
    public static FileStreamHttpResult GetPage() =>
        TypedResults.File(Files.GetFileInfo("admin/index.html").CreateReadStream(), "text/html; charset=utf-8");
}
