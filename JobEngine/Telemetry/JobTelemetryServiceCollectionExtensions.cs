using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Telemetry;

/// <summary>Registers the engine's sampled telemetry next to <see cref="JobEngineServiceCollectionExtensions.AddJobEngine"/>.</summary>
public static class JobTelemetryServiceCollectionExtensions
{
    /// <summary>The <c>job.queue.depth</c> gauge, sampled every <paramref name="interval"/> (default 5 s), with the worker's queues (<c>Jobs:Worker:Queues</c>) reported from the start.</summary>
    public static IServiceCollection AddJobQueueDepthGauge(this IServiceCollection services, TimeSpan? interval = null)
    {
        services.AddMetrics();
        services.AddSingleton(sp => new QueueDepthGauge(
            sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILogger<QueueDepthGauge>>(),
            interval ?? TimeSpan.FromSeconds(5),
            sp.GetService<IOptions<JobWorkerOptions>>()?.Value.Queues.Keys ?? Enumerable.Empty<string>()));
        services.AddHostedService(sp => sp.GetRequiredService<QueueDepthGauge>());
        return services;
    }
}
