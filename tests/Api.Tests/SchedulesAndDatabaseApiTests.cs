using System.Net;
using JobEngine.Running;
using JobEngine.Scheduling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Api.Tests;

public sealed class SchedulesAndDatabaseApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Schedules_are_listed_with_their_next_run_and_an_admin_pauses_and_resumes_one()
    {
        var options = new JobWorkerOptions();
        options.Schedules["nightly"] = new ScheduleOptions { Cron = "30 2 * * *", TimeZone = "America/New_York", Kind = "noop" };
        await new JobScheduler(api.Db.App, new JobEngine.JobClient(api.Db.App), Options.Create(options), TimeProvider.System, NullLogger<JobScheduler>.Instance)
            .UpsertAsync(CancellationToken.None);

        var listed = (await (await api.Admin.GetAsync("/schedules")).BodyAsync()).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "nightly");
        Assert.Equal("30 2 * * *", listed.GetProperty("cron").GetString());
        Assert.Equal("America/New_York", listed.GetProperty("timeZone").GetString());
        Assert.True(listed.GetProperty("nextRunAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        var paused = await (await api.Admin.PostAsync("/schedules/nightly/pause", null)).BodyAsync();
        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, paused.GetProperty("nextRunAt").ValueKind);
        var resumed = await (await api.Admin.PostAsync("/schedules/nightly/resume", null)).BodyAsync();
        Assert.False(resumed.GetProperty("paused").GetBoolean());

        await (await api.Admin.PostAsync("/schedules/no-such-schedule/pause", null)).AssertProblemAsync(HttpStatusCode.NotFound, "name");
        await (await api.Producer.GetAsync("/schedules")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await api.Anonymous.PostAsync("/schedules/nightly/pause", null)).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Database_health_is_reported_to_admins_only_with_its_thresholds()
    {
        var response = await api.Admin.GetAsync("/db/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.BodyAsync();
        Assert.Contains(report.GetProperty("indexes").EnumerateArray(), i => i.GetProperty("index").GetString() == "job_claim_idx" && i.GetProperty("valid").GetBoolean());
        Assert.Contains(report.GetProperty("tables").EnumerateArray(), t => t.GetProperty("table").GetString() == "job");
        Assert.Contains(report.GetProperty("connections").EnumerateArray(), c => c.GetProperty("applicationName").GetString() == "api");
        Assert.Equal("00:05:00", report.GetProperty("thresholds").GetProperty("maxWaitingJobAge").GetString());
        await (await api.Producer.GetAsync("/db/health")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Health_includes_the_job_database_check()
    {
        var report = await (await api.Anonymous.GetAsync("/health")).BodyAsync();
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("jobs-database").GetProperty("status").GetString());
    }
}
