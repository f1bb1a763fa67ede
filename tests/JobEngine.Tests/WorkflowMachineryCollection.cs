namespace JobEngine.Tests;

/// <summary>
/// Batches are built on the workflow machinery, and a batch's fired callback counts in the same
/// process-wide <c>job.workflow.*</c> instruments as a released step. The classes that run
/// workflows or batches therefore never run at once, so a test that reads those instruments sees
/// only its own steps (a batch test running beside it once made 2 released steps read 4).
/// </summary>
[CollectionDefinition(Name)]
public sealed class WorkflowMachineryCollection
{
    /// <summary>The collection's name, for <see cref="CollectionAttribute"/>.</summary>
    public const string Name = "workflow machinery";
}
