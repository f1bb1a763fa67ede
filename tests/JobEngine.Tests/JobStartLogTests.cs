using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Worker.Handlers;

namespace JobEngine.Tests;

/// <summary>The Worker's diagnostic start log, which the benchmark reads our pickup latency from.</summary>
public sealed class JobStartLogTests
{
    [Fact]
    public async Task The_start_log_writes_each_noop_start_as_its_creation_by_the_database_and_its_call_in_unix_ms_when_the_host_stops()
    {
        var file = Path.Combine(Path.GetTempPath(), $"starts-{Guid.NewGuid():N}.txt");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.Configure<JobStartLogOptions>(o => o.File = file);
        builder.Services.AddSingleton(TimeProvider.System).AddSingleton<JobStartLog>();
        using var host = builder.Build();
        await host.StartAsync();
        var handler = new NoopHandler(host.Services.GetRequiredService<JobStartLog>());
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var created = new DateTimeOffset(2026, 12, 7, 9, 30, 15, 123, 456, TimeSpan.Zero);

        await handler.HandleAsync(new JobContext(1, "noop", "default", 1, 25, TimeSpan.FromMilliseconds(250), created), new NoArgs(), CancellationToken.None);
        await host.StopAsync();

        try
        {
            var line = Assert.Single(await File.ReadAllLinesAsync(file));
            var parts = line.Split(' ').Select(p => double.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(created.ToUnixTimeMilliseconds() + 0.456, parts[0], tolerance: 0.01);
            Assert.InRange(parts[1], before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
