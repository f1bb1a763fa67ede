using Api;
using Api.Apis;
using Api.Auth;
using Api.Caching;
using Api.Http;
using Api.Jobs;
using Api.Stats;
using JobEngine;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scalar.AspNetCore;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>The Api's services and request pipeline.</summary>
public static class ApiServices
{
    /// <summary>The name Aspire.StackExchange.Redis gives its health check.</summary>
    public const string RedisHealthCheckName = "StackExchange.Redis";

    /// <summary>
    /// Registers the engine on Aspire's PostgreSQL client (<c>ConnectionStrings:jobsdb</c>, settings
    /// under <c>Aspire:Npgsql</c>), HybridCache with Aspire's Redis client as its shared tier when
    /// <c>ConnectionStrings:cache</c> is set (settings under <c>Aspire:StackExchange:Redis</c>),
    /// API-key authentication, ProblemDetails, OpenAPI and the health checks.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        // Ours: the application name shows the Api in pg_stat_activity (GET /db/health) unless the connection string names one.
        builder.AddNpgsqlDataSource("jobsdb", configureDataSourceBuilder: b =>
        {
            b.ConnectionStringBuilder.ApplicationName ??= "api";
            JobEngine.JobsConnectionSettings.ApplyTo(b.ConnectionStringBuilder);
        });
        services.AddJobEngine();
        services.Configure<JobEngine.Health.DatabaseHealthOptions>(builder.Configuration.GetSection("Jobs:Health"));
        // Ours: what Aspire's PostgreSql check (SELECT 1) does not see: vacuum held back, long transactions.
        services.AddHealthChecks().AddCheck<JobEngine.Health.JobsDatabaseHealthCheck>("jobs-database", HealthStatus.Degraded);

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
        services.AddSingleton<WorkflowListing>();
        services.AddSingleton<JobBulkActions>();
        services.AddSingleton<KnownKinds>();
        services.AddSingleton<ServedQueues>();
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
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("cache")))
        {
            // Same name as Aspire's check, so /health reports Redis under one key in both modes.
            services.AddHealthChecks().AddCheck(RedisHealthCheckName, () => HealthCheckResult.Healthy("not configured: the cache runs in memory only"));
            return;
        }

        // One multiplexer per process, traced and health-checked by Aspire; its defaults already
        // start without Redis (AbortOnConnectFail=false). Ours: commands fail at once while Redis is
        // down (HybridCache then serves from memory) instead of queueing for seconds; the timeouts
        // live in appsettings.json under Aspire:StackExchange:Redis:ConfigurationOptions.
        builder.AddRedisClient("cache", configureOptions: options => options.BacklogPolicy = BacklogPolicy.FailFast);
        // The prefix keeps deployments (and test runs) that share one Redis apart.
        services.AddStackExchangeRedisCache(o => o.InstanceName = builder.Configuration["Api:CacheKeyPrefix"] ?? "jobs-api:");
        services.AddOptions<Caching.StackExchangeRedis.RedisCacheOptions>()
            .Configure<IServiceProvider>((o, provider) => o.ConnectionMultiplexerFactory = () => Task.FromResult(provider.GetRequiredService<IConnectionMultiplexer>()));
        // Ours: Aspire registers its Redis check as Unhealthy on failure, but Redis is only the Api's
        // shared cache tier: without it the Api still serves (from memory), so it degrades /health.
        services.Configure<HealthCheckServiceOptions>(o =>
        {
            foreach (var registration in o.Registrations.Where(r => r.Name == RedisHealthCheckName))
            {
                registration.FailureStatus = HealthStatus.Degraded;
            }
        });
    }
}
