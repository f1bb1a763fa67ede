using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Worker.Handlers;

namespace JobEngine.Tests;

/// <summary>How the Worker and the Api connect, and the Worker's diagnostic start log.</summary>
public sealed class JobsConnectionSettingsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_tuned_connection_prepares_statements_and_plans_each_execution_with_its_values()
    {
        var connection = new NpgsqlConnectionStringBuilder(db.AppConnectionString) { Options = "-c statement_timeout=60000" };
        JobsConnectionSettings.ApplyTo(connection);
        await using var source = NpgsqlDataSource.Create(connection.ConnectionString);
        await using var command = source.CreateCommand("SELECT current_setting('plan_cache_mode') || ' ' || current_setting('statement_timeout')");

        Assert.Equal("force_custom_plan 1min", await command.ExecuteScalarAsync());
        Assert.Equal(JobsConnectionSettings.DefaultMaxAutoPrepare, connection.MaxAutoPrepare);
        Assert.True(connection.NoResetOnClose);
    }

    [Fact]
    public void A_prepared_statement_count_in_the_connection_string_is_kept()
    {
        var connection = new NpgsqlConnectionStringBuilder(db.AppConnectionString) { MaxAutoPrepare = 5 };
        JobsConnectionSettings.ApplyTo(connection);

        Assert.Equal(5, connection.MaxAutoPrepare);
    }

    [Fact]
    public async Task The_start_log_writes_each_noop_start_as_its_creation_and_call_in_unix_ms_when_the_host_stops()
    {
        var file = Path.Combine(Path.GetTempPath(), $"starts-{Guid.NewGuid():N}.txt");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.Configure<JobStartLogOptions>(o => o.File = file);
        builder.Services.AddSingleton(TimeProvider.System).AddSingleton<JobStartLog>();
        using var host = builder.Build();
        await host.StartAsync();
        var handler = new NoopHandler(host.Services.GetRequiredService<JobStartLog>());
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        await handler.HandleAsync(new JobContext(1, "noop", "default", 1, 25, TimeSpan.FromMilliseconds(250)), new NoArgs(), CancellationToken.None);
        await host.StopAsync();

        try
        {
            var line = Assert.Single(await File.ReadAllLinesAsync(file));
            var parts = line.Split(' ').Select(p => double.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(250, parts[1] - parts[0], 3);
            Assert.InRange(parts[1], before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
