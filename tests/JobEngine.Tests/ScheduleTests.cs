using JobEngine.Running;
using JobEngine.Scheduling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace JobEngine.Tests;

public sealed class ScheduleTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public ScheduleTests(TestDatabase db) => _db = db;

    [Theory]
    // Paris springs forward on 2026-03-29 (02:00 -> 03:00): the skipped 02:30 runs once, at 03:00.
    [InlineData("30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z")]
    [InlineData("30 2 * * *", "Europe/Paris", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z")]
    // Paris falls back on 2026-10-25 (03:00 -> 02:00): the repeated 02:30 runs once, at the first.
    [InlineData("30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z")]
    [InlineData("30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z")]
    // New York: springs forward 2026-03-08 02:00 -> 03:00, falls back 2026-11-01 02:00 -> 01:00.
    [InlineData("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z")]
    [InlineData("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z")]
    [InlineData("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z")]
    // Seconds are optional: six fields put seconds first.
    [InlineData("*/15 * * * * *", "UTC", "2026-01-01T00:00:01Z", "2026-01-01T00:00:15Z")]
    [InlineData("0 9 * * MON-FRI", "Europe/Paris", "2026-11-27T09:00:00Z", "2026-11-30T08:00:00Z")]
    public void Next_occurrences_follow_the_time_zone_and_its_daylight_saving_transitions(string cron, string zone, string after, string expected)
    {
        var schedule = new ScheduleOptions { Cron = cron, TimeZone = zone, Kind = "noop" };

        var next = schedule.ParseCron().GetNextOccurrence(DateTimeOffset.Parse(after, System.Globalization.CultureInfo.InvariantCulture), schedule.FindTimeZone());

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), next);
    }

    [Theory]
    [InlineData("Europe/Paris", "2026-03-28T22:00:00Z")]
    [InlineData("Europe/Paris", "2026-10-24T22:00:00Z")]
    [InlineData("America/New_York", "2026-03-08T04:00:00Z")]
    [InlineData("America/New_York", "2026-11-01T04:00:00Z")]
    public void A_daily_schedule_fires_exactly_once_on_a_transition_day(string zone, string midnightUtc)
    {
        var schedule = new ScheduleOptions { Cron = "30 2 * * *", TimeZone = zone, Kind = "noop" };
        var start = DateTimeOffset.Parse(midnightUtc, System.Globalization.CultureInfo.InvariantCulture);

        var instants = schedule.ParseCron().GetOccurrences(start, start.AddDays(1), schedule.FindTimeZone(), fromInclusive: true, toInclusive: false);

        Assert.Single(instants);
    }

    [Fact]
    public void An_invalid_schedule_is_named_in_the_configuration_problems()
    {
        var options = new JobWorkerOptions { Queues = { ["default"] = 1 } };
        options.Schedules["broken"] = new ScheduleOptions { Cron = "61 * * * *", Kind = "noop" };
        options.Schedules["nowhere"] = new ScheduleOptions { Cron = "* * * * *", Kind = "noop", TimeZone = "Mars/Olympus" };

        var problems = options.Problems().ToList();

        Assert.Contains(problems, p => p.StartsWith("Jobs:Worker:Schedules:broken is invalid", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Jobs:Worker:Schedules:nowhere is invalid", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(CatchUpPolicy.Enqueue, 5, 0)]
    [InlineData(CatchUpPolicy.Skip, 0, 5)]
    public async Task Instants_missed_while_stopped_are_caught_up_inside_the_window_or_skipped(CatchUpPolicy policy, int enqueued, int skipped)
    {
        var name = "catchup-" + policy.ToString().ToLowerInvariant();
        var scheduler = Scheduler(name, new ScheduleOptions { Cron = "* * * * *", Kind = "noop", Queue = name, CatchUp = policy, CatchUpWindow = TimeSpan.FromMinutes(5) });
        await scheduler.UpsertAsync(CancellationToken.None);
        // Away from a minute boundary, so no instant is within the on-time grace of 5 s.
        await Eventually.WaitForAsync(() => _db.ScalarAsync<double>("SELECT extract(second FROM now())::float8"), s => s is >= 6 and <= 50, "the clock to be mid-minute");
        // Stopped ten minutes ago, just after the minute: five instants fall in the window, five before it.
        await _db.ExecuteAsync("UPDATE jobs.schedule SET last_instant = date_trunc('minute', now()) - interval '10 minutes' + interval '1 second' WHERE name = $1", name);

        var fired = await scheduler.FireDueAsync(CancellationToken.None);

        Assert.Equal(enqueued, fired);
        Assert.Equal((long)enqueued, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = $1", name));
        Assert.Equal((long)skipped, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.schedule_run WHERE schedule_name = $1 AND outcome = 'skipped'", name));
        Assert.Equal(0, await scheduler.FireDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_paused_schedule_does_not_fire_and_the_client_lists_it()
    {
        var scheduler = Scheduler("paused", new ScheduleOptions { Cron = "* * * * * *", Kind = "noop", Queue = "paused" });
        await scheduler.UpsertAsync(CancellationToken.None);
        var client = new ScheduleClient(_db.App, TimeProvider.System);

        Assert.True(await client.PauseAsync("paused"));
        await _db.ExecuteAsync("UPDATE jobs.schedule SET last_instant = now() - interval '3 seconds' WHERE name = 'paused'");
        Assert.Equal(0, await scheduler.FireDueAsync(CancellationToken.None));
        var listed = Assert.Single(await client.ListAsync(), s => s.Name == "paused");
        Assert.True(listed.Paused);
        Assert.Null(listed.NextRunAt);

        Assert.True(await client.ResumeAsync("paused"));
        Assert.True(await scheduler.FireDueAsync(CancellationToken.None) > 0);
        Assert.NotNull(Assert.Single(await client.ListAsync(), s => s.Name == "paused").NextRunAt);
        Assert.False(await client.PauseAsync("no-such-schedule"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Worker_processes_racing_on_one_schedule_enqueue_exactly_one_job_per_instant(int processes)
    {
        var name = $"race{processes}";
        var environment = new Dictionary<string, string>
        {
            [$"Jobs__Worker__Queues__{name}"] = "4",
            [$"Jobs__Worker__Schedules__{name}__Cron"] = "* * * * * *",
            [$"Jobs__Worker__Schedules__{name}__Kind"] = "noop",
            [$"Jobs__Worker__Schedules__{name}__Queue"] = name,
        };
        var workers = Enumerable.Range(0, processes).Select(_ => WorkerProcess.Start(_db, environment)).ToList();
        try
        {
            await Eventually.WaitForAsync(
                () => _db.ScalarAsync<long>("SELECT count(*) FROM jobs.schedule_run WHERE schedule_name = $1", name),
                n => n >= 8, "eight instants fired", TimeSpan.FromSeconds(90));
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }

        var instants = await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.schedule_run WHERE schedule_name = $1 AND outcome = 'enqueued'", name);
        var span = await _db.ScalarAsync<long>("SELECT extract(epoch FROM max(instant) - min(instant))::bigint + 1 FROM jobs.schedule_run WHERE schedule_name = $1", name);
        Assert.Equal(instants, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = $1", name));
        Assert.Equal(instants, await _db.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM jobs.schedule_run WHERE schedule_name = $1", name));
        Assert.Equal(span, instants);
    }

    private JobScheduler Scheduler(string name, ScheduleOptions schedule)
    {
        var options = new JobWorkerOptions();
        options.Schedules[name] = schedule;
        return new JobScheduler(_db.App, new JobClient(_db.App), Options.Create(options), TimeProvider.System, NullLogger<JobScheduler>.Instance);
    }
}
