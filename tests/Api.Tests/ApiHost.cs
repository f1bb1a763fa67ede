using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using JobEngine.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Api.Tests;

/// <summary>The keys the test Api is configured with; only their SHA-256 hashes reach its configuration.</summary>
public static class TestKeys
{
    public const string Admin = "admin-key-0123456789";
    public const string Producer = "producer-key-0123456789";
    public const string OtherProducer = "other-producer-key-0123456789";

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

/// <summary>
/// The real Api (its Program) in process over a test database and the test Redis, configured the
/// way an operator would: connection strings and hashed keys in configuration. (Any type of the Api
/// assembly names its entry point; <c>Program</c> is ambiguous with the Migrator's.)
/// </summary>
public sealed class ApiFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<ApiOptions>
{
    public static Dictionary<string, string?> Settings(TestDatabase db, string? redis = "env") => new()
    {
        ["ConnectionStrings:jobsdb"] = db.AppConnectionString,
        ["ConnectionStrings:cache"] = redis == "env" ? TestDatabase.Env("ConnectionStrings__cache") : redis,
        ["Api:CacheKeyPrefix"] = db.Name + ":",
        ["Api:Keys:admin:Hash"] = TestKeys.Hash(TestKeys.Admin),
        ["Api:Keys:admin:Scope"] = "admin",
        ["Api:Keys:producer:Hash"] = TestKeys.Hash(TestKeys.Producer),
        ["Api:Keys:producer:Scope"] = "producer",
        ["Api:Keys:other:Hash"] = TestKeys.Hash(TestKeys.OtherProducer),
        ["Api:Keys:other:Scope"] = "producer",
        ["Api:Kinds:0"] = "noop",
        ["Api:Kinds:1"] = "fail",
        ["Api:Kinds:2"] = "sleep",
        ["Api:AuthFailureLimit"] = "1000",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public HttpClient ClientWith(string? key)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }
}

/// <summary>A test database and an Api on it, shared by the tests of one class.</summary>
public class ApiFixture : IAsyncLifetime
{
    public TestDatabase Db { get; } = new();
    public ApiFactory Factory { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public HttpClient Producer { get; private set; } = null!;
    public HttpClient OtherProducer { get; private set; } = null!;
    public HttpClient Anonymous { get; private set; } = null!;

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        var settings = ApiFactory.Settings(Db);
        Configure(settings);
        Factory = new ApiFactory(settings);
        Admin = Factory.ClientWith(TestKeys.Admin);
        Producer = Factory.ClientWith(TestKeys.Producer);
        OtherProducer = Factory.ClientWith(TestKeys.OtherProducer);
        Anonymous = Factory.ClientWith(null);
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Db.DisposeAsync();
    }
}
