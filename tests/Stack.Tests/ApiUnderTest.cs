using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Api;
using JobEngine.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;

namespace Stack.Tests;

/// <summary>
/// The real Api (its Program) in process on a test database, configured as run.sh and the AppHost
/// configure it (app-role connection string, hashed admin key), with an in-memory exporter added
/// after its ServiceDefaults.
/// </summary>
public sealed class ApiUnderTest(TestDatabase db, Telemetry telemetry) : WebApplicationFactory<ApiOptions>
{
    public const string AdminKey = "stack-tests-admin-key-0123456789";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting(Microsoft.Extensions.Hosting.Extensions.CollectTelemetrySetting, "true");
        builder.UseSetting("ConnectionStrings:jobsdb", db.AppConnectionString);
        builder.UseSetting("ConnectionStrings:cache", TestDatabase.Env("ConnectionStrings__cache"));
        builder.UseSetting("Api:CacheKeyPrefix", db.Name + ":");
        builder.UseSetting("Api:Keys:admin:Hash", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey))));
        builder.UseSetting("Api:Keys:admin:Scope", "admin");
        builder.UseSetting("Api:Kinds:0", "noop");
        builder.ConfigureTestServices(telemetry.AddTo);
    }

    public HttpClient Admin()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }
}
