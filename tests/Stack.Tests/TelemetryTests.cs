using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JobEngine;
using JobEngine.Telemetry;
using JobEngine.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Stack.Tests;

/// <summary>The signals ServiceDefaults and the engine promise, read through the in-memory exporter over real PostgreSQL.</summary>
public sealed class TelemetryTests(TestDatabase db, ITestOutputHelper output) : IClassFixture<TestDatabase>
{
    private const string RedisSource = "OpenTelemetry.Instrumentation.StackExchangeRedis";

    [Fact]
    public async Task A_request_to_the_api_its_insert_and_the_job_run_in_the_worker_share_one_trace_and_the_metrics_count_them()
    {
        var queue = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var workerTelemetry = new Telemetry();
        using var worker = await StartWorkerAsync(queue, workerTelemetry);

        var apiTelemetry = new Telemetry();
        await using var api = new ApiUnderTest(db, apiTelemetry);
        using var http = api.Admin();

        using var response = await http.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { }, queue });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await db.WaitForStateAsync(jobId, JobState.Completed);

        // The request in the Api host: ASP.NET Core's server span, and the insert among its Npgsql children.
        var server = await Eventually.WaitForAsync(
            () => Task.FromResult(apiTelemetry.Spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem("http.request.method") == "POST" && (string?)s.GetTagItem("url.path") == "/jobs")),
            s => s is not null, "the server span of POST /jobs");
        var trace = server!.TraceId;
        var requestDbCalls = apiTelemetry.Spans.Where(s => s.Source.Name == "Npgsql" && s.TraceId == trace && IsWithin(s, server, apiTelemetry)).ToList();
        Assert.Contains(requestDbCalls, s => ((string?)s.GetTagItem("db.query.text") ?? s.DisplayName).Contains("INSERT INTO jobs.job", StringComparison.Ordinal));

        // The run in the Worker host: a span of the same trace, child of the request's context.
        var run = await Eventually.WaitForAsync(
            () => Task.FromResult(workerTelemetry.Spans.FirstOrDefault(s => s.Source.Name == "JobEngine" && (long?)s.GetTagItem("job.id") == jobId)),
            s => s is not null, $"the run span of job {jobId}");
        Assert.Equal(trace, run!.TraceId);
        Assert.True(IsWithin(run, server, apiTelemetry), "the run's parent is not inside the request");
        Assert.Equal("job noop", run.DisplayName);

        // Metrics: request duration, database calls in both hosts, and the job instruments.
        Telemetry.Flush(api.Services);
        Telemetry.Flush(worker.Services);
        Assert.Contains(apiTelemetry.Points("http.server.request.duration"), p => Telemetry.Tag(p, "http.route") == "/jobs/" && Telemetry.Tag(p, "http.response.status_code") == "201" && p.GetHistogramCount() == 1);
        Assert.True(apiTelemetry.Count("db.client.operation.duration") >= requestDbCalls.Count, "db.client.operation.duration counts fewer calls than the request made");
        Assert.True(workerTelemetry.Count("db.client.operation.duration") > 0, "the worker's database calls are not counted");
        var completed = workerTelemetry.Points("job.completed").Where(p => Telemetry.Tag(p, "job.queue") == queue).ToList();
        Assert.Equal(1, Assert.Single(completed).GetSumLong());
        Assert.Equal("noop", Telemetry.Tag(completed[0], "job.kind"));
        Assert.Contains(workerTelemetry.Points("job.execution.duration"), p => Telemetry.Tag(p, "job.queue") == queue && p.GetHistogramCount() == 1);
        Assert.Contains(workerTelemetry.Points("job.queue.latency"), p => Telemetry.Tag(p, "job.queue") == queue && p.GetHistogramCount() == 1);
        AssertNpgsqlMeterExportedOnce("api", api.Services, apiTelemetry);
        AssertNpgsqlMeterExportedOnce("worker", worker.Services, workerTelemetry);
        output.WriteLine($"POST /jobs made {requestDbCalls.Count} database call(s): {string.Join(" | ", requestDbCalls.Select(s => ((string?)s.GetTagItem("db.query.text"))?.Split('\n').FirstOrDefault(l => !l.StartsWith("--", StringComparison.Ordinal)) ?? s.DisplayName))}");
    }

    [Fact]
    public async Task A_cached_stats_miss_shows_its_redis_and_postgresql_calls_as_spans_under_the_request()
    {
        var telemetry = new Telemetry();
        await using var api = new ApiUnderTest(db, telemetry);
        using var http = api.Admin();

        using var response = await http.GetAsync(new Uri("/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("miss", string.Join(",", response.Headers.GetValues("X-Cache")));

        var server = await Eventually.WaitForAsync(
            () => Task.FromResult(telemetry.Spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem("url.path") == "/stats")),
            s => s is not null, "the server span of GET /stats");
        // Redis spans are built from StackExchange.Redis's profiling sessions, drained after the calls end.
        var redisCalls = await Eventually.WaitForAsync(
            () =>
            {
                Telemetry.Flush(api.Services);
                return Task.FromResult(telemetry.Spans.Where(s => s.Source.Name == RedisSource && IsWithin(s, server!, telemetry)).ToList());
            },
            calls => calls.Any(IsRedisRead) && calls.Any(IsRedisWrite), "the Redis lookup and write of the miss as spans under the request");
        var dbCalls = telemetry.Spans.Where(s => s.Source.Name == "Npgsql" && IsWithin(s, server!, telemetry)).ToList();

        output.WriteLine($"trace {server!.TraceId}: {server.DisplayName} span {server.SpanId}");
        foreach (var span in telemetry.Spans.Where(s => s.TraceId == server.TraceId && s != server).OrderBy(s => s.StartTimeUtc))
        {
            output.WriteLine($"  {span.Source.Name,-50} {span.DisplayName,-28} span {span.SpanId} parent {span.ParentSpanId} {span.Duration.TotalMilliseconds:0.0} ms");
        }

        Assert.Contains(redisCalls, IsRedisRead);
        Assert.Contains(redisCalls, IsRedisWrite);
        Assert.NotEmpty(dbCalls);
        Assert.All(redisCalls.Concat(dbCalls), s => Assert.Equal(server!.TraceId, s.TraceId));
    }

    [Fact]
    public async Task The_migrator_exports_its_database_calls_with_the_npgsql_meter_once()
    {
        var telemetry = new Telemetry();
        using var migrator = await StartMigratorAsync(telemetry);

        Assert.Equal(0, await migrator.Services.GetRequiredService<Migrator.MigratorCommand>().RunAsync(["status"], CancellationToken.None));

        AssertNpgsqlMeterExportedOnce("migrator", migrator.Services, telemetry);
    }

    [Fact]
    public async Task A_failed_request_is_measured_with_its_status_code_and_error_type()
    {
        var telemetry = new Telemetry();
        await using var api = await StartWebAsync(telemetry, app => app.MapGet("/boom", string () => throw new InvalidOperationException("boom")));
        using var http = new HttpClient { BaseAddress = new Uri(api.Urls.First()) };

        using var response = await http.GetAsync(new Uri("/boom", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Telemetry.Flush(api.Services);
        var point = Assert.Single(telemetry.Points("http.server.request.duration"), p => Telemetry.Tag(p, "http.route") == "/boom");
        Assert.Equal("500", Telemetry.Tag(point, "http.response.status_code"));
        Assert.Equal(typeof(InvalidOperationException).FullName, Telemetry.Tag(point, "error.type"));
    }

    // With no OTLP endpoint nothing can read a job's span or measurements, so none is built: the
    // engine's source and meter are left out, unless Telemetry:Collect asks for them (an exporter
    // added in code, as this class's in-memory one).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_job_span_and_its_measurements_are_built_only_when_telemetry_is_exported(bool collect)
    {
        var telemetry = new Telemetry();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        if (collect)
        {
            Telemetry.Collect(builder);
        }

        builder.AddServiceDefaults();
        telemetry.AddTo(builder.Services);
        using var host = builder.Build();
        await host.StartAsync();
        var queue = "built-" + Guid.NewGuid().ToString("N")[..8];

        using (JobTelemetry.StartRun("job noop", "noop", queue, 1, 1, null))
        {
            JobTelemetry.Completed.Add(1, JobTelemetry.Tags(queue, "noop"));
        }

        Telemetry.Flush(host.Services);
        Assert.Equal(collect, telemetry.Spans.Snapshot().Any(s => s.Source.Name == JobTelemetry.Name && (string?)s.GetTagItem("job.queue") == queue));
        Assert.Equal(collect, telemetry.Points("job.completed").Any(p => Telemetry.Tag(p, "job.queue") == queue));
        await host.StopAsync();
    }

    [Fact]
    public async Task Logs_carry_trace_and_span_ids_and_never_a_password_or_an_api_key()
    {
        var telemetry = new Telemetry();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        Telemetry.Collect(builder);
        builder.AddServiceDefaults();
        telemetry.AddTo(builder.Services);
        using var host = builder.Build();
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stack.Tests.Secrets");
        using var source = new ActivitySource("Stack.Tests.Secrets");
        using var listener = ListenTo(source.Name);

        const string Password = "hunter2-Pa55";
        const string ApiKey = "k3y-0f-the-admin";
        using (var activity = source.StartActivity("request"))
        {
#pragma warning disable CA1848, CA2254 // The point is an ordinary log call that carries secrets by accident.
            logger.LogWarning("Connecting with Host=db;Port=5432;Username=jobs_app;Password=" + Password + ";Database=jobsdb");
            logger.LogWarning("Redis at {Configuration}", "cache:6379,password=" + Password + ",ssl=false");
            logger.LogWarning("Request had Authorization: Bearer {Token} and api_key={Key}", ApiKey, ApiKey);
            logger.LogError(new InvalidOperationException("Could not parse Password=" + Password), "Failed to open postgres://jobs_app:{Password}@db/jobsdb", Password);
#pragma warning restore CA1848, CA2254

            var logs = telemetry.Logs.Snapshot().Where(l => l.TraceId == activity!.TraceId).ToList();
            Assert.Equal(4, logs.Count);
            Assert.All(logs, l => Assert.Equal(activity!.SpanId, l.SpanId));
            var exported = string.Join('\n', logs.Select(l => $"{l.Message}|{l.Body}|{string.Join(',', l.Attributes.Select(a => $"{a.Key}={a.Value}"))}|{l.Exception}"));
            Assert.DoesNotContain(Password, exported, StringComparison.Ordinal);
            Assert.DoesNotContain(ApiKey, exported, StringComparison.Ordinal);
            Assert.Contains("Password=***", exported, StringComparison.Ordinal);
            Assert.Contains("jobs_app:***@db", exported, StringComparison.Ordinal);
        }

        await host.StopAsync();
    }

    [Fact]
    public void The_console_line_shows_the_trace_and_span_ids_and_masks_secrets()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        using var output = new StringWriter();
        var entry = new Microsoft.Extensions.Logging.Abstractions.LogEntry<string>(
            LogLevel.Warning, "Worker.Handlers.WebhookHandler", new EventId(7), "Starting with Webhooks__SigningSecret=abc123 and ConnectionStrings__cache=cache:6379,password=hunter2", null, (s, _) => s);

        new TraceConsoleFormatter().Write(entry, null, output);

        var line = output.ToString();
        Assert.Contains($"trace_id={activity.TraceId.ToHexString()} span_id={activity.SpanId.ToHexString()}", line, StringComparison.Ordinal);
        Assert.Contains("warn Worker.Handlers.WebhookHandler[7]", line, StringComparison.Ordinal);
        Assert.DoesNotContain("abc123", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    private async Task<IHost> StartWorkerAsync(string queue, Telemetry telemetry)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:jobsdb"] = db.AppConnectionString,
            ["Jobs:DiagnosticKinds"] = "true",
            [$"Jobs:Worker:Queues:{queue}"] = "4",
            ["Jobs:Worker:DrainTimeout"] = "00:00:02",
            ["Jobs:QueueDepthInterval"] = "00:00:00.200",
            ["Webhooks:SigningSecret"] = "test-secret",
        });
        Telemetry.Collect(builder);
        builder.AddServiceDefaults();
        WorkerServices.AddApplicationServices(builder); // By name: the Api, also referenced here, has one too.
        telemetry.AddTo(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    // One export holds each Npgsql instrument once (the meter is subscribed once, not by
    // ServiceDefaults and Aspire both), and the service's calls come from one pooled data source
    // (Aspire's, named by its application name), not from a second one the engine built. The hosts
    // of a test share this process and Npgsql's static meter, so each also sees the others' pools.
    private void AssertNpgsqlMeterExportedOnce(string service, IServiceProvider services, Telemetry telemetry)
    {
        telemetry.Metrics.Clear();
        Telemetry.Flush(services);
        var npgsql = telemetry.Metrics.Snapshot().Where(m => m.MeterName == "Npgsql").ToList();
        Assert.All(npgsql.GroupBy(m => m.Name), g => Assert.True(g.Count() == 1, $"{service} exported {g.Key} {g.Count()} times"));
        var operations = Assert.Single(npgsql, m => m.Name == "db.client.operation.duration");
        var pools = operations.MetricPoints.Select(p => Telemetry.Tag(p, "db.client.connection.pool.name") ?? "")
            .Distinct().Where(p => new Npgsql.NpgsqlConnectionStringBuilder(p).ApplicationName == service).ToList();
        output.WriteLine($"{service}: {npgsql.Count} Npgsql instruments, its pools: {string.Join(" | ", pools)}");
        Assert.Single(pools);
    }

    private async Task<IHost> StartMigratorAsync(Telemetry telemetry)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:jobsdb"] = db.OwnerConnectionString });
        Telemetry.Collect(builder);
        builder.AddServiceDefaults();
        builder.AddMigratorServices();
        telemetry.AddTo(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private async Task<WebApplication> StartWebAsync(Telemetry telemetry, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        Telemetry.Collect(builder);
        builder.AddServiceDefaults();
        builder.Services.AddNpgsqlDataSource(db.AppConnectionString).AddJobEngine();
        telemetry.AddTo(builder.Services);
        var app = builder.Build();
        map(app);
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return app;
    }

    // HybridCache's Redis tier (RedisCache) reads an entry with HMGET and writes it with HMSET.
    private static bool IsRedisRead(Activity span) => span.DisplayName == "HMGET";

    private static bool IsRedisWrite(Activity span) => span.DisplayName == "HMSET";

    // True when the span's parent chain, as far as this host exported it, reaches the ancestor.
    private static bool IsWithin(Activity span, Activity ancestor, Telemetry telemetry)
    {
        var byId = telemetry.Spans.Snapshot().GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        for (var parent = span.ParentSpanId; parent != default; parent = byId.TryGetValue(parent, out var p) ? p.ParentSpanId : default)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static ActivityListener ListenTo(string sourceName)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == sourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
