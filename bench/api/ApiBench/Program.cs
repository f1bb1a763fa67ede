// The Api responsiveness benchmark (issue 3). See bench/api/run.sh and README "The Api".
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ApiBench;
using JobEngine;
using JobEngine.Sql;
using Npgsql;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var root = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();
const int Finalized = 1_000_000, Waiting = 10_000, Concurrency = 8;
var clock = Stopwatch.StartNew();

await using var db = new BenchDatabase(root);
await db.CreateAsync();
var load = Stopwatch.StartNew();
await db.LoadAsync(Finalized, Waiting);
Console.WriteLine($"loaded {Finalized:N0} finalized + {Waiting:N0} waiting jobs in {load.Elapsed.TotalSeconds:0.0} s (set-based INSERT ... SELECT generate_series, then VACUUM ANALYZE)");

var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
var port = FreePort();
using var worker = ServiceProcess.Start(root, "Worker", new()
{
    ["ConnectionStrings__jobsdb"] = db.AppConnectionString,
    ["Jobs__DiagnosticKinds"] = "true",
    ["Jobs__Worker__Queues__default"] = "100",
    ["Jobs__Worker__RetentionPeriod"] = "7.00:00:00",
    ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
});
using var api = ServiceProcess.Start(root, "Api", new()
{
    ["ConnectionStrings__jobsdb"] = db.AppConnectionString,
    ["ConnectionStrings__cache"] = Environment.GetEnvironmentVariable("ConnectionStrings__cache") ?? "",
    ["Api__CacheKeyPrefix"] = $"bench-{Guid.NewGuid():N}:",
    ["Api__Keys__bench__Hash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
    ["Api__Keys__bench__Scope"] = "admin",
    ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
});
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
await WaitForHealthAsync(http);

// A feeder keeps about 10,000 jobs waiting while the Worker drains at full speed.
await using var app = NpgsqlDataSource.Create(db.AppConnectionString);
var client = new JobClient(app);
using var stop = new CancellationTokenSource();
var completedAtStart = await db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE state = 'completed'");
var drainClock = Stopwatch.StartNew();
var feeder = Task.Run(async () =>
{
    var batch = Enumerable.Range(0, 1000).Select(_ => new NewJob("noop")).ToList();
    while (!stop.IsCancellationRequested)
    {
        await using var count = app.CreateCommand("SELECT count(*) FROM jobs.job WHERE state = 'available' AND queue = 'default'");
        if ((long)(await count.ExecuteScalarAsync(stop.Token))! < Waiting)
        {
            await client.EnqueueManyAsync(batch, stop.Token);
        }
        else
        {
            await Task.Delay(20, stop.Token);
        }
    }
});

// Warm-up, not timed: the measured figures are a long-running Api's, after .NET's tiered JIT has
// recompiled the hot paths (a fresh process's first few hundred requests are slower).
Console.WriteLine("warm-up: 500 untimed rounds of GET /alive, /stats, /jobs and POST /jobs");
for (var i = 0; i < 500; i++)
{
    (await http.GetAsync("/alive")).EnsureSuccessStatusCode();
    (await http.GetAsync("/stats")).EnsureSuccessStatusCode();
    (await http.GetAsync("/jobs?limit=50&state=completed")).EnsureSuccessStatusCode();
    (await http.PostAsync("/jobs", new StringContent("""{"kind":"noop","queue":"bench-warmup"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
}

// The floor: an HTTP round trip to the same process that does no work (no auth, no cache, no
// database), timed the same way, on the same loaded machine.
Console.WriteLine();
Console.WriteLine("GET /alive (1,000 sequential requests; no auth, cache or database: the round-trip floor on this machine under this load)");
var alive = new Latency("GET /alive");
for (var i = 0; i < 1000; i++)
{
    alive.Add(await Latency.TimeAsync(async () => (await http.GetAsync("/alive")).EnsureSuccessStatusCode()));
    await Task.Delay(2);
}

Console.WriteLine(alive);

Console.WriteLine();
Console.WriteLine("GET /stats (1,000 sequential requests; a hit is served by HybridCache, a miss recomputes every query)");
var statsHit = new Latency("GET /stats, X-Cache: hit");
var statsMiss = new Latency("GET /stats, X-Cache: miss (TTL expired)");
for (var i = 0; i < 1000; i++)
{
    HttpResponseMessage? response = null;
    var elapsed = await Latency.TimeAsync(async () => response = await http.GetAsync("/stats"));
    (response!.Headers.GetValues("X-Cache").Single() == "hit" ? statsHit : statsMiss).Add(elapsed);
    await Task.Delay(2);
}

var statsFresh = new Latency("GET /stats, Cache-Control: no-cache (recompute)");
for (var i = 0; i < 30; i++)
{
    var request = new HttpRequestMessage(HttpMethod.Get, "/stats");
    request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
    statsFresh.Add(await Latency.TimeAsync(() => http.SendAsync(request)));
}

Console.WriteLine(statsHit);
Console.WriteLine(statsMiss);
Console.WriteLine(statsFresh);

Console.WriteLine();
Console.WriteLine("GET /jobs, first page (limit 50), 100 sequential requests per filter");
string[] filters = ["", "state=completed", "state=discarded", "state=available", "state=cancelled", "queue=default", "queue=reports", "kind=noop", "kind=fail", "kind=send-email"];
var worstList = 0.0;
foreach (var filter in filters)
{
    var latency = new Latency("GET /jobs?" + (filter.Length == 0 ? "(no filter)" : filter));
    for (var i = 0; i < 100; i++)
    {
        latency.Add(await Latency.TimeAsync(async () => (await http.GetAsync("/jobs?limit=50&" + filter)).EnsureSuccessStatusCode()));
    }

    worstList = Math.Max(worstList, latency.Percentile(0.99));
    Console.WriteLine(latency);
}

Console.WriteLine();
Console.WriteLine($"Enqueue one job per call, {Concurrency} concurrent callers, 5 s each, same database, Worker draining");
var direct = await RateAsync(async () => await client.EnqueueAsync(new NewJob("noop") { Queue = "bench-direct" }));
var overHttp = await RateAsync(async () => (await http.PostAsync("/jobs", new StringContent("""{"kind":"noop","queue":"bench-http"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode());
Console.WriteLine($"JobClient.EnqueueAsync (direct)   {direct,8:0} jobs/s");
Console.WriteLine($"POST /jobs (Api process, HTTP)    {overHttp,8:0} jobs/s");
Console.WriteLine($"ratio POST /jobs / direct         {overHttp / direct,8:0.00}   (target >= 0.50)");

await stop.CancelAsync();
try
{
    await feeder;
}
catch (OperationCanceledException)
{
}

var drained = await db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE state = 'completed'") - completedAtStart;
Console.WriteLine();
Console.WriteLine($"Worker drained {drained:N0} jobs in {drainClock.Elapsed.TotalSeconds:0.0} s during the measurements ({drained / drainClock.Elapsed.TotalSeconds:0} jobs/s)");

Console.WriteLine();
Console.WriteLine("Summary against issue 3's targets");
Console.WriteLine($"  GET /stats hit p99   {statsHit.Percentile(0.99),8:0.00} ms (target < 10 ms; GET /alive p99 {alive.Percentile(0.99):0.00} ms on the same machine)");
Console.WriteLine($"  GET /stats miss p99  {Math.Max(statsMiss.Percentile(0.99), statsFresh.Percentile(0.99)),8:0.00} ms (target < 150 ms; worst of TTL misses and no-cache recomputes)");
Console.WriteLine($"  GET /jobs first page {worstList,8:0.00} ms p99, worst filter (target < 25 ms)");
Console.WriteLine($"  POST /jobs / direct  {overHttp / direct,8:0.00} (target >= 0.50)");

Console.WriteLine();
Console.WriteLine("EXPLAIN (ANALYZE, BUFFERS) of every admin query, on the loaded table");
var admin = SqlFile.Load(typeof(Api.ApiOptions).Assembly, "admin.sql");
var stats = SqlFile.Load(typeof(Api.ApiOptions).Assembly, "stats.sql");
foreach (var (label, state, queue, kind) in new (string, string?, string?, string?)[]
{
    ("no filter", null, null, null), ("state=completed", "completed", null, null), ("state=available", "available", null, null),
    ("queue=reports", null, "reports", null), ("kind=fail", null, null, "fail"),
})
{
    await ExplainAsync($"ListJobs ({label})", admin.Get("ListJobs"), state, queue, kind, long.MaxValue, 51);
}

foreach (var name in new[] { "CountByQueueAndState", "FinishedPerMinute", "QueueLatency", "QueueLatencyByQueue" })
{
    await ExplainAsync(name, stats.Get(name));
}

await ExplainAsync("OldestWaitingJobSeconds", JobEngine.Health.DatabaseHealthClient.OldestWaitingJobSecondsCommand().CommandText);

Console.WriteLine($"total benchmark time {clock.Elapsed.TotalSeconds:0} s");

async Task ExplainAsync(string label, string sql, params object?[] parameters)
{
    await using var command = db.Owner.CreateCommand("EXPLAIN (ANALYZE, BUFFERS) " + sql);
    foreach (var parameter in parameters)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value, NpgsqlDbType = parameter switch { long => NpgsqlTypes.NpgsqlDbType.Bigint, int => NpgsqlTypes.NpgsqlDbType.Integer, _ => NpgsqlTypes.NpgsqlDbType.Text } });
    }

    Console.WriteLine($"--- {label}");
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
    {
        Console.WriteLine("    " + reader.GetString(0));
    }
}

static async Task<double> RateAsync(Func<Task> enqueue)
{
    var until = Stopwatch.StartNew();
    var counts = await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
    {
        var n = 0;
        while (until.Elapsed < TimeSpan.FromSeconds(5))
        {
            await enqueue();
            n++;
        }

        return n;
    }));
    return counts.Sum() / until.Elapsed.TotalSeconds;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task WaitForHealthAsync(HttpClient http)
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            if ((await http.GetAsync("/health")).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100);
    }

    throw new TimeoutException("The Api did not become healthy.");
}
