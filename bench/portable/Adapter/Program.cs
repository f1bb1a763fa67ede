using System.Reflection;
using Adapter;
using JobEngine;
using JobEngine.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

// The adapter of the public long-horizon queue benchmark: settings from the environment, schema by
// the Migrator, then our Worker runtime and a producer until SIGTERM. stdout is the JSONL protocol.
AdapterSettings settings;
Manifest manifest;
try
{
    settings = AdapterSettings.Read(Environment.GetEnvironmentVariable);
    manifest = Manifest.Load(Environment.GetEnvironmentVariable("ADAPTER_MANIFEST") ?? Path.Combine(AppContext.BaseDirectory, "adapter.json"));
}
catch (Exception e) when (e is FormatException or IOException or System.Text.Json.JsonException)
{
    await Console.Error.WriteLineAsync($"adapter: {e.Message}");
    return 2;
}

var startedAt = DateTimeOffset.UtcNow;
var appRolePassword = AppRolePassword.Resolve(Environment.GetEnvironmentVariable, settings.StateDirectory);
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Npgsql", LogLevel.Warning);
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(4));
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    [$"Jobs:Worker:Queues:{BenchJobArgs.Queue}"] = settings.WorkerCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["Jobs:Worker:WorkerId"] = $"portable-adapter-{settings.InstanceId}:{Environment.ProcessId}",
    // SIGTERM must end the process within 5 s: running jobs (JOB_WORK_MS) get 2 s to finish.
    ["Jobs:Worker:DrainTimeout"] = "00:00:02",
});

builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(manifest);
builder.Services.AddNpgsqlDataSource(settings.Database.ConnectionString(AppRolePassword.Role, appRolePassword, $"portable-adapter-{settings.InstanceId}")).AddJobEngine();
builder.Services.AddJobWorker(builder.Configuration.GetSection("Jobs:Worker"));
builder.Services.AddJobQueueDepthGauge(TimeSpan.FromSeconds(1));
builder.Services.AddJobHandler<BenchJobHandler, BenchJobArgs>(BenchJobArgs.Kind);
builder.Services.AddSingleton<ClaimLatency>();
builder.Services.AddSingleton<AdapterCounters>();
builder.Services.AddSingleton<QueueDepthReader>();
builder.Services.AddSingleton<SchemaInstaller>();
builder.Services.AddSingleton(new ProtocolWriter(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false }));
builder.Services.AddSingleton<IProducerPacer>(sp => (settings.Mode, settings.Pacing) switch
{
    (ProducerMode.DepthTarget, _) => ActivatorUtilities.CreateInstance<DepthTargetPacer>(sp),
    (_, ProducerPacing.Adapter) => ActivatorUtilities.CreateInstance<RatePacer>(sp),
    _ => ActivatorUtilities.CreateInstance<HarnessPacer>(sp, Console.In),
});
builder.Services.AddHostedService<Producer>();
builder.Services.AddHostedService<Sampler>();

using var host = builder.Build();
var logger = host.Services.GetRequiredService<ILogger<Program>>();
string schemaVersion;
try
{
    schemaVersion = await host.Services.GetRequiredService<SchemaInstaller>().InstallAsync(appRolePassword, CancellationToken.None);
}
catch (Exception e) when (e is InvalidOperationException or Npgsql.NpgsqlException)
{
    logger.LogError("The schema could not be installed: {Message}", e.Message);
    return 1;
}

// The descriptor goes out once the worker runtime has started, so the harness's first jobs do not
// wait on start-up; the sampler's ticks follow it.
await host.StartAsync();
var version = typeof(JobClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
host.Services.GetRequiredService<ProtocolWriter>().WriteDescriptor(new DescriptorRecord(
    Sampler.System, manifest.EventTables, manifest.Extensions, $"jobengine@{version}", schemaVersion,
    settings.Database.Database, ProtocolWriter.Timestamp(startedAt), settings.InstanceId));
logger.LogInformation("Adapter {Instance} runs: {Workers} workers, {Pacing} pacing, {Mode} mode, sampling every {Every} s.",
    settings.InstanceId, settings.WorkerCount, settings.Pacing, settings.Mode, settings.SampleEverySeconds);

await host.WaitForShutdownAsync();
return 0;
