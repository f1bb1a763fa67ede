using JobEngine.Running;
using JobEngine.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace JobEngine;

/// <summary>Registers the engine: <see cref="AddJobEngine"/> to enqueue, <see cref="AddJobWorker"/> and <see cref="AddJobHandler{THandler, TArgs}"/> to run.</summary>
public static class JobEngineServiceCollectionExtensions
{
    /// <summary>
    /// The <see cref="JobClient"/> and the engine's other clients, on the <see cref="NpgsqlDataSource"/>
    /// already in <paramref name="services"/>. Register that first: in a service
    /// <c>builder.AddNpgsqlDataSource("jobsdb")</c> (Aspire.Npgsql: connection string, health check,
    /// traces and metrics from configuration), elsewhere <c>services.AddNpgsqlDataSource(connectionString)</c>
    /// (Npgsql.DependencyInjection).
    /// </summary>
    /// <exception cref="InvalidOperationException">No <see cref="NpgsqlDataSource"/> is registered yet.</exception>
    public static IServiceCollection AddJobEngine(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(s => s.ServiceType == typeof(NpgsqlDataSource) && !s.IsKeyedService))
        {
            throw new InvalidOperationException(
                "AddJobEngine needs an NpgsqlDataSource registered before it: call builder.AddNpgsqlDataSource(\"jobsdb\") (Aspire.Npgsql) or services.AddNpgsqlDataSource(connectionString) first.");
        }

        services.AddOptions<Health.DatabaseHealthOptions>();
        services.TryAddSingleton<ListenConnectionFactory>();
        services.TryAddSingleton<JobClient>();
        services.TryAddSingleton<Scheduling.ScheduleClient>();
        services.TryAddSingleton<Queues.QueuePauses>();
        services.TryAddSingleton<Health.DatabaseHealthClient>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// The worker runtime as a hosted service, configured from <paramref name="configuration"/> (the
    /// <c>Jobs:Worker</c> section), with the <c>worker-registration</c> health check: unhealthy until
    /// the worker has registered its kinds.
    /// </summary>
    public static IServiceCollection AddJobWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobWorkerOptions>().Bind(configuration);
        services.TryAddSingleton<JobHandlerRegistry>();
        services.TryAddSingleton<RunningJobs>();
        services.TryAddSingleton<JobNotifier>();
        services.TryAddSingleton<JobCompleter>();
        services.TryAddSingleton<LeaseKeeper>();
        services.TryAddSingleton<JobRescuer>();
        services.TryAddSingleton<JobPruner>();
        services.TryAddSingleton<JobScheduler>();
        services.TryAddSingleton<WorkerRegistration>();
        services.TryAddSingleton<WorkerWarmup>();
        services.AddHealthChecks().AddCheck<Health.WorkerRegistrationHealthCheck>("worker-registration");
        services.AddHostedService<JobWorkerService>();
        return services;
    }

    /// <summary>Runs jobs of <paramref name="kind"/> with <typeparamref name="THandler"/>, resolved per job in its own scope.</summary>
    public static IServiceCollection AddJobHandler<THandler, TArgs>(this IServiceCollection services, string kind, TimeSpan? timeout = null)
        where THandler : class, IJobHandler<TArgs>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        services.TryAddScoped<THandler>();
        services.AddSingleton(JobHandlerRegistration.For<THandler, TArgs>(kind, timeout));
        return services;
    }
}
