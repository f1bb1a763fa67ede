namespace JobEngine.Sql;

/// <summary>The named queries of <c>schedule.sql</c>; each property is the query of the same name.</summary>
internal static class ScheduleSql
{
    private static readonly IReadOnlyDictionary<string, string> Schedules = SqlFile.Load(typeof(ScheduleSql).Assembly, "schedule.sql");

    public static readonly string UpsertSchedule = Schedules.Get(nameof(UpsertSchedule));
    public static readonly string SelectScheduleState = Schedules.Get(nameof(SelectScheduleState));
    public static readonly string RecordScheduleRun = Schedules.Get(nameof(RecordScheduleRun));
    public static readonly string SetScheduleRunJob = Schedules.Get(nameof(SetScheduleRunJob));
    public static readonly string AdvanceSchedule = Schedules.Get(nameof(AdvanceSchedule));
    public static readonly string SelectSchedules = Schedules.Get(nameof(SelectSchedules));
    public static readonly string SetSchedulePaused = Schedules.Get(nameof(SetSchedulePaused));
    public static readonly string PruneScheduleRuns = Schedules.Get(nameof(PruneScheduleRuns));
    public static readonly string SelectScheduleJob = Schedules.Get(nameof(SelectScheduleJob));
}
