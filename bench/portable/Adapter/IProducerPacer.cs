namespace Adapter;

/// <summary>Decides how many jobs the producer owes: the harness's tokens, a rate over wall-clock time, or a target depth.</summary>
internal interface IProducerPacer
{
    /// <summary>Waits until at least one job is owed and returns how many are.</summary>
    ValueTask<long> OwedAsync(CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="count"/> owed jobs were enqueued.</summary>
    void Sent(int count);
}
