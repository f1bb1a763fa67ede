using JobEngine;
using JobEngine.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Worker.Handlers;

namespace Microsoft.Extensions.Hosting;

/// <summary>The Worker's services: the engine, its worker runtime, the built-in handlers and the database health check.</summary>
public static class WorkerServices
{
    /// <summary>
    /// Registers everything the Worker runs: the engine on Aspire's PostgreSQL client
    /// (<c>ConnectionStrings:jobsdb</c>, settings under <c>Aspire:Npgsql</c>), <c>Jobs:Worker</c> and <c>Webhooks</c>.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Ours: the application name shows the Worker (and its LISTEN connection, worker-listener) in pg_stat_activity.
        builder.AddNpgsqlDataSource("jobsdb", configureDataSourceBuilder: b =>
        {
            b.ConnectionStringBuilder.ApplicationName ??= "worker";
            JobEngine.JobsConnectionSettings.ApplyTo(b.ConnectionStringBuilder);
        });
        builder.Services.AddJobEngine();
        builder.Services.AddJobWorker(builder.Configuration.GetSection("Jobs:Worker"));
        builder.Services.AddJobQueueDepthGauge(builder.Configuration.GetValue<TimeSpan?>("Jobs:QueueDepthInterval"));
        builder.Services.Configure<JobEngine.Health.DatabaseHealthOptions>(builder.Configuration.GetSection("Jobs:Health"));
        // Ours: what Aspire's PostgreSql check (SELECT 1) does not see: vacuum held back, long transactions.
        builder.Services.AddHealthChecks().AddCheck<JobEngine.Health.JobsDatabaseHealthCheck>("jobs-database", HealthStatus.Degraded);

        var drain = builder.Configuration.GetValue("Jobs:Worker:DrainTimeout", TimeSpan.FromSeconds(20));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = drain + TimeSpan.FromSeconds(15));

        builder.Services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection("Webhooks"));
        // A delivery is retried by the job, never inside it: a hidden retry of a POST is a duplicate.
        // RemoveAllResilienceHandlers is experimental, but the only way to undo ConfigureHttpClientDefaults for one client.
#pragma warning disable EXTEXP0001
        builder.Services.AddHttpClient(WebhookHandler.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(services => WebhookHandler.CreateGuardedHandler(services.GetRequiredService<Microsoft.Extensions.Options.IOptions<WebhookOptions>>()))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddJobHandler<WebhookHandler, WebhookArgs>("webhook");

        if (builder.Configuration.GetValue("Jobs:DiagnosticKinds", false))
        {
            builder.Services.AddOptions<JobStartLogOptions>().Configure(o => o.File = builder.Configuration["Jobs:DiagnosticStartsFile"]);
            builder.Services.AddSingleton<JobStartLog>();
            builder.Services.AddJobHandler<NoopHandler, NoArgs>("noop");
            builder.Services.AddJobHandler<SleepHandler, SleepArgs>("sleep");
            builder.Services.AddJobHandler<FailHandler, FailArgs>("fail");
            builder.Services.AddJobHandler<RecordHandler, RecordArgs>("record");
        }

        return builder;
    }
}
