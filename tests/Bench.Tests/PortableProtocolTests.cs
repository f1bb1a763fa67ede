using Adapter;
using Driver;
using Microsoft.Extensions.Time.Testing;

namespace Bench.Tests;

/// <summary>
/// Why it exists: the parts of the portable benchmark that decide whether a figure can be trusted,
/// tested on their own and fast: the driver's protocol validator (it must catch what the harness
/// would reject), the adapter's reading of the harness's URL, and its rolling claim percentiles.
/// </summary>
public sealed class PortableProtocolTests
{
    private static readonly SystemUnderTest Ours = new("jobengine", "unused", new Driver.Manifest("jobengine", "jobengine_bench", ["jobs.job"], [], []), "JobengineCounts");

    private const string Descriptor = """{"kind":"descriptor","system":"jobengine","event_tables":["jobs.job"],"extensions":[],"version":"v","schema_version":"8","db_name":"db","started_at":"2026-01-01T00:00:00.000Z"}""";

    [Fact]
    public void A_whole_aligned_tick_after_a_descriptor_is_valid()
    {
        var (validator, store) = Validator();
        validator.Accept(Descriptor, DateTimeOffset.UtcNow);
        foreach (var line in Tick("2026-01-01T00:00:10.000Z", withDepth: true))
        {
            validator.Accept(line, DateTimeOffset.UtcNow);
        }

        validator.Finish(killed: false);
        Assert.Empty(store.Violations());
        Assert.True(validator.Descriptor.IsCompletedSuccessfully);
        Assert.Equal(6, store.Samples().Count);
    }

    [Fact]
    public void A_log_line_on_stdout_and_an_unaligned_tick_are_violations()
    {
        var (validator, store) = Validator();
        validator.Accept(Descriptor, DateTimeOffset.UtcNow);
        validator.Accept("info: Worker started", DateTimeOffset.UtcNow);
        foreach (var line in Tick("2026-01-01T00:00:11.000Z", withDepth: false))
        {
            validator.Accept(line, DateTimeOffset.UtcNow);
        }

        validator.Finish(killed: false);
        var violations = store.Violations();
        Assert.Contains(violations, v => v.Contains("is not JSON", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("not a wall-clock multiple of 5 s", StringComparison.Ordinal));
    }

    [Fact]
    public void A_tick_without_the_queue_depth_of_instance_0_is_a_violation()
    {
        var (validator, store) = Validator();
        validator.Accept(Descriptor, DateTimeOffset.UtcNow);
        foreach (var line in Tick("2026-01-01T00:00:10.000Z", withDepth: false))
        {
            validator.Accept(line, DateTimeOffset.UtcNow);
        }

        validator.Finish(killed: false);
        Assert.Contains(store.Violations(), v => v.Contains("lacks queue_depth", StringComparison.Ordinal));
    }

    [Fact]
    public void A_descriptor_that_drops_a_manifest_table_or_comes_late_is_a_violation()
    {
        var (validator, store) = Validator(launchedAt: DateTimeOffset.UtcNow.AddSeconds(-61));
        validator.Accept(Descriptor.Replace("\"jobs.job\"", "\"jobs.other\"", StringComparison.Ordinal), DateTimeOffset.UtcNow);
        var violations = store.Violations();
        Assert.Contains(violations, v => v.Contains("event_tables lacks jobs.job", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("at most 60 s", StringComparison.Ordinal));
        Assert.False(validator.Descriptor.IsCompleted);
    }

    [Fact]
    public void The_harness_url_becomes_a_connection_to_the_same_database()
    {
        var url = DatabaseUrl.Parse("postgres://bench:p%40ss%3Aword@db.local/long_horizon?sslmode=require");
        Assert.Equal(("db.local", 5432, "long_horizon", "bench", "p@ss:word"), (url.Host, url.Port, url.Database, url.Username, url.Password));
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(url.ConnectionString("jobs_app", "secret", "adapter"));
        Assert.Equal(("db.local", "long_horizon", "jobs_app", Npgsql.SslMode.Require), (builder.Host, builder.Database, builder.Username, builder.SslMode));
        Assert.DoesNotContain("p@ss", url.ToString(), StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => DatabaseUrl.Parse("Host=localhost;Database=x"));
    }

    [Fact]
    public void Claim_percentiles_cover_the_last_30_seconds_only()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var latency = new ClaimLatency(time);
        for (var ms = 1; ms <= 1000; ms++)
        {
            latency.Record(TimeSpan.FromMilliseconds(ms));
        }

        var (p50, p95, p99) = latency.Percentiles();
        Assert.InRange(p50, 499.5, 501);
        Assert.InRange(p95, 949.5, 951);
        Assert.InRange(p99, 989.5, 991);

        time.Advance(TimeSpan.FromSeconds(29));
        latency.Record(TimeSpan.FromMilliseconds(5000));
        Assert.InRange(latency.Percentiles().P99, 990, 5010);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.InRange(latency.Percentiles().P50, 4995, 5010);

        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal((0.0, 0.0, 0.0), latency.Percentiles());
    }

    private static (ProtocolValidator Validator, SampleStore Store) Validator(DateTimeOffset? launchedAt = null)
    {
        var store = new SampleStore();
        return (new ProtocolValidator(Ours, "db", sampleEverySeconds: 5, instance: 0, launchedAt ?? DateTimeOffset.UtcNow, store), store);
    }

    private static IEnumerable<string> Tick(string t, bool withDepth)
    {
        var metrics = new List<(string Metric, int Window)> { ("claim_p50_ms", 30), ("claim_p95_ms", 30), ("claim_p99_ms", 30), ("enqueue_rate", 5), ("completion_rate", 5) };
        if (withDepth)
        {
            metrics.Add(("queue_depth", 0));
        }

        return metrics.Select(m => $$"""{"t":"{{t}}","system":"jobengine","kind":"adapter","subject_kind":"adapter","subject":"","metric":"{{m.Metric}}","value":1.5,"window_s":{{m.Window}}}""");
    }
}
