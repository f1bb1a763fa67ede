using System.Globalization;
using Npgsql;

namespace Migrator;

/// <summary>
/// The command line: <c>apply</c> (default), <c>apply --dry-run</c> (or <c>plan</c>), <c>status</c>,
/// <c>rollback VERSION</c>. Exit code 0 on success, 1 when the work failed, 2 for a bad command line.
/// </summary>
public sealed class MigratorCommand(MigrationRunner runner, TextWriter output, ILogger<MigratorCommand> logger)
{
    /// <summary>The usage text printed for a bad command line.</summary>
    public const string Usage = "usage: Migrator [apply [--dry-run] | plan | status | rollback VERSION]";

    /// <summary>Runs the command in <paramref name="args"/> and returns the process exit code.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        try
        {
            switch (args)
            {
                case [] or ["apply"]:
                    await runner.ApplyAsync(dryRun: false, cancellationToken).ConfigureAwait(false);
                    return 0;
                case ["apply", "--dry-run"] or ["plan"]:
                    await runner.ApplyAsync(dryRun: true, cancellationToken).ConfigureAwait(false);
                    return 0;
                case ["status"]:
                    await runner.PrintStatusAsync(cancellationToken).ConfigureAwait(false);
                    return 0;
                case ["rollback", var version] when int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var target):
                    await runner.RollbackAsync(target, cancellationToken).ConfigureAwait(false);
                    return 0;
                default:
                    await output.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 2;
            }
        }
        catch (Exception e) when (e is MigrationException or NpgsqlException or FormatException)
        {
            logger.LogError("Migration failed: {Message}", e.Message);
            await output.WriteLineAsync($"Migration failed: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
