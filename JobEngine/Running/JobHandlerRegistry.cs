using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace JobEngine.Running;

/// <summary>One registered kind: its timeout and how to run it in a DI scope.</summary>
/// <param name="Kind">The job kind.</param>
/// <param name="Timeout">Time an attempt may take; null for the worker's default.</param>
/// <param name="Invoke">Deserializes the arguments and calls the handler.</param>
public sealed record JobHandlerRegistration(
    string Kind,
    TimeSpan? Timeout,
    Func<IServiceProvider, JobContext, string, CancellationToken, Task> Invoke)
{
    /// <summary>The name of each run's span, made once for the kind instead of at every run.</summary>
    public string SpanName { get; } = Telemetry.JobTelemetry.RunSpanName(Kind);

    /// <summary>The registration of <typeparamref name="THandler"/> for <paramref name="kind"/>.</summary>
    public static JobHandlerRegistration For<THandler, TArgs>(string kind, TimeSpan? timeout)
        where THandler : IJobHandler<TArgs> =>
        new(kind, timeout, (services, job, argsJson, cancellationToken) =>
        {
            TArgs args;
            try
            {
                args = JsonSerializer.Deserialize<TArgs>(argsJson, JsonSerializerOptions.Web)
                    ?? throw new JobArgsException($"Arguments of a '{kind}' job are null.");
            }
            catch (JsonException e)
            {
                throw new JobArgsException($"Arguments of a '{kind}' job do not fit {typeof(TArgs).Name}: {e.Message}", e);
            }

            return services.GetRequiredService<THandler>().HandleAsync(job, args, cancellationToken);
        });
}

/// <summary>The kinds this process can run, looked up by name for each claimed job.</summary>
public sealed class JobHandlerRegistry(IEnumerable<JobHandlerRegistration> registrations)
{
    private readonly Dictionary<string, JobHandlerRegistration> _byKind =
        registrations.ToDictionary(r => r.Kind, StringComparer.Ordinal);

    /// <summary>Every registered kind.</summary>
    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    /// <summary>The registration for <paramref name="kind"/>, if any.</summary>
    public JobHandlerRegistration? Find(string kind) => _byKind.GetValueOrDefault(kind);
}
