namespace JobEngine;

/// <summary>What happened to a request to add jobs to a batch or to seal it.</summary>
public enum BatchChangeOutcome
{
    /// <summary>The batch changed as asked (sealing a sealed batch changes nothing and is done too).</summary>
    Done,
    /// <summary>No batch has this id.</summary>
    NotFound,
    /// <summary>The batch takes no more jobs: it is sealed, fired or its callback was cancelled.</summary>
    Closed,
}
