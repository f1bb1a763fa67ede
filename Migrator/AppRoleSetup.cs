using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Migrator;

// The Worker and the Api log in as a role that may only touch rows; the Migrator, the one service
// with DDL rights, creates that role (or sets its password from configuration) before any
// migration grants it rights, so a new database needs no manual step and no password is in code.
internal sealed partial class AppRoleSetup(IOptions<MigratorOptions> options, ILogger logger)
{
    public async Task EnsureAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var role = options.Value.AppRole;
        if (!RoleName().IsMatch(role))
        {
            throw new MigrationException($"Migrator:AppRole '{role}' is not a plain lower-case role name ([a-z_][a-z0-9_]*).");
        }

        var exists = await MigratorSql.ScalarAsync<bool>(connection, "RoleExists", cancellationToken, role).ConfigureAwait(false);
        var password = options.Value.AppRolePassword;
        if (string.IsNullOrEmpty(password))
        {
            if (!exists)
            {
                throw new MigrationException($"Role {role} does not exist and Migrator:AppRolePassword is not set, so it cannot be created.");
            }
        }
        else
        {
            // The statement holds the password: it is run, never logged.
            var create = await MigratorSql.ScalarAsync<string>(connection, exists ? "AlterRolePasswordStatement" : "CreateRoleStatement", cancellationToken, role, password).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(create, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            logger.LogInformation(exists ? "Role {Role} exists; its password was set from configuration." : "Created login role {Role}.", role);
        }

        var grant = await MigratorSql.ScalarAsync<string>(connection, "GrantConnectStatement", cancellationToken, role).ConfigureAwait(false);
        await using var grantCommand = new NpgsqlCommand(grant, connection);
        await grantCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial Regex RoleName();
}
