using Api;
using Api.Apis;
using Api.Auth;
using Api.Caching;
using Api.Http;
using Api.Jobs;
using Api.Stats;
using JobEngine;
using Microsoft.AspNetCore.Authentication;
using Scalar.AspNetCore;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>The Api's services and request pipeline.</summary>
public static class ApiServices
{
    /// <summary>
    /// Registers the engine (<c>ConnectionStrings:jobsdb</c>, application name <c>api</c>), HybridCache
    /// with Redis as its shared tier when <c>ConnectionStrings:cache</c> is set, API-key authentication,
    /// ProblemDetails, OpenAPI and the health checks of PostgreSQL and Redis.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var connectionString = builder.Configuration.GetConnectionString("jobsdb")
            ?? throw new InvalidOperationException("ConnectionStrings:jobsdb is not set (env ConnectionStrings__jobsdb).");
        services.AddJobEngine(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "api" }.ConnectionString);
        services.Configure<JobEngine.Health.DatabaseHealthOptions>(builder.Configuration.GetSection("Jobs:Health"));
        services.AddHealthChecks()
            .AddCheck<NpgsqlDataSourceHealthCheck>("postgresql")
            .AddCheck<JobEngine.Health.JobsDatabaseHealthCheck>("jobs-database", Diagnostics.HealthChecks.HealthStatus.Degraded);

        services.AddOptions<ApiOptions>().Bind(builder.Configuration.GetSection("Api"))
            .Validate(o => ApiKeyStore.Validate(o) is null, "Api:Keys holds an invalid key: each needs a 64-character lowercase hex Hash and a Scope of admin or producer.")
            .Validate(o => o.MaxBatchSize > 0 && o.MaxRequestBodyBytes > 0, "Api:MaxBatchSize and Api:MaxRequestBodyBytes must be positive.")
            .ValidateOnStart();

        AddCache(builder);

        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Problems the framework itself answers (no route, wrong method, wrong content type)
            // get the same three extensions as the Api's own.
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            var (field, expected) = status switch
            {
                StatusCodes.Status404NotFound => ("path", "a path the OpenAPI document at /openapi/v1.json lists"),
                StatusCodes.Status405MethodNotAllowed => ("method", "a method this path allows (see /openapi/v1.json)"),
                StatusCodes.Status415UnsupportedMediaType => ("Content-Type", "application/json"),
                _ => ((string?)null, (string?)null),
            };
            context.ProblemDetails.Extensions.TryAdd(ApiProblem.FieldExtension, field);
            context.ProblemDetails.Extensions.TryAdd(ApiProblem.ExpectedExtension, expected);
            context.ProblemDetails.Extensions.TryAdd(ApiProblem.RetryableExtension, ApiProblem.IsRetryable(status));
        });
        services.AddExceptionHandler<UnavailableExceptionHandler>();

        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<FailedAuthenticationLimiter>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiScopes.Admin, p => p.RequireClaim(ApiScopes.ClaimType, ApiScopes.Admin))
            .AddPolicy(ApiScopes.Producer, p => p.RequireClaim(ApiScopes.ClaimType, ApiScopes.Producer, ApiScopes.Admin));

        services.AddSingleton<JsonBody>();
        services.AddSingleton<CacheStatus>();
        services.AddSingleton<CacheWriter>();
        services.AddSingleton<JobIntake>();
        services.AddSingleton<JobReader>();
        services.AddSingleton<JobListing>();
        services.AddSingleton<KnownKinds>();
        services.AddSingleton<StatsReader>();
        services.AddSingleton<JobServices>();
        services.AddOpenApi();
        return builder;
    }

    /// <summary>Security headers, errors as ProblemDetails, header limits, the admin page's files, authentication, the OpenAPI document and its reference page.</summary>
    public static WebApplication UseApiPipeline(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<SecurityHeaders>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<HeaderSizeGuard>();
        app.UseStaticFiles(new StaticFileOptions { FileProvider = AdminPage.Files });
        // Explicitly after the exception handler, so even a routing failure is a ProblemDetails.
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        // Served from the package itself, fonts included: the reference page works offline.
        app.MapScalarApiReference(o => o.WithTitle("Jobs API").DisableDefaultFonts());
        return app;
    }

    private static void AddCache(IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHybridCache();
        var redis = builder.Configuration.GetConnectionString("cache");
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddHealthChecks().AddCheck("redis", () => Diagnostics.HealthChecks.HealthCheckResult.Healthy("not configured: the cache runs in memory only"));
            return;
        }

        var options = ConfigurationOptions.Parse(redis);
        // Start and keep serving without Redis: no wait for a connection, and commands fail at once
        // while it is down (HybridCache then serves from memory) instead of queueing for seconds.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 1000;
        options.AsyncTimeout = 1000;
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        // The prefix keeps deployments (and test runs) that share one Redis apart.
        services.AddStackExchangeRedisCache(o => o.InstanceName = builder.Configuration["Api:CacheKeyPrefix"] ?? "jobs-api:");
        services.AddOptions<Caching.StackExchangeRedis.RedisCacheOptions>()
            .Configure<IServiceProvider>((o, provider) => o.ConnectionMultiplexerFactory = () => Task.FromResult(provider.GetRequiredService<IConnectionMultiplexer>()));
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", Diagnostics.HealthChecks.HealthStatus.Degraded);
    }
}
