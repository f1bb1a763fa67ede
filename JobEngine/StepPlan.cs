namespace JobEngine;

/// <summary>
/// What InsertWorkflow writes for each step beyond its job: how many dependencies it waits for, and
/// whether it is doomed at once (a dependency it cannot run without already failed: a job depended
/// on by id, or a step of the workflow doomed before it) and by which.
/// </summary>
internal sealed record StepPlan(int[] WaitingOn, long?[] FailedJob, int?[] FailedStep, string?[] FailedState)
{
    /// <summary>Every step waits for all of its dependencies; none is doomed.</summary>
    public static StepPlan WithoutJobDependencies(IReadOnlyList<NewWorkflowStep> steps) =>
        new([.. steps.Select(s => s.DependsOn.Count)], new long?[steps.Count], new int?[steps.Count], new string?[steps.Count]);

    /// <summary>
    /// The plan given the states of the jobs depended on by id: a completed one is not waited for; a
    /// discarded or cancelled one dooms a step that does not run anyway, and a doomed step dooms its
    /// dependents in turn (in dependency order); a step that runs anyway waits for neither.
    /// </summary>
    public static StepPlan Of(NewWorkflow workflow, Dictionary<string, int> position, IReadOnlyDictionary<long, string> jobStates)
    {
        var steps = workflow.Steps;
        var plan = new StepPlan(new int[steps.Count], new long?[steps.Count], new int?[steps.Count], new string?[steps.Count]);
        foreach (var i in workflow.DependencyOrder())
        {
            var cancels = steps[i].OnDependencyFailure == DependencyFailure.Cancel;
            foreach (var jobId in steps[i].DependsOnJobIds)
            {
                var state = jobStates[jobId];
                if (state is JobState.Discarded or JobState.Cancelled)
                {
                    if (cancels && plan.FailedState[i] is null)
                    {
                        (plan.FailedJob[i], plan.FailedState[i]) = (jobId, state);
                    }
                }
                else if (state != JobState.Completed)
                {
                    plan.WaitingOn[i]++;
                }
            }

            foreach (var name in steps[i].DependsOn)
            {
                var dependency = position[name] - 1;
                if (plan.FailedState[dependency] is null)
                {
                    plan.WaitingOn[i]++;
                }
                else if (cancels && plan.FailedState[i] is null)
                {
                    (plan.FailedStep[i], plan.FailedState[i]) = (dependency + 1, JobState.Cancelled);
                }
            }
        }

        return plan;
    }
}
