// The stack's topology, as `dotnet run --project AppHost` runs it (dashboard, PostgreSQL, Redis,
// Migrator, Api, Worker replicas) and azd deploys it (publish mode). ./run.sh runs this AppHost.
using AppHost;
using AppHost.Supervision;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var builder = DistributedApplication.CreateBuilder(args);

// Secrets are parameters (user secrets or Parameters__* in development, prompted or Key Vault on
// deployment), never values in code. The two the stack makes itself are generated when unset.
var generated = new GenerateParameterDefault { MinLength = 32, Special = false };
var appRolePassword = builder.AddParameter("jobs-app-password", generated, secret: true, persist: true);
var webhookSigningSecret = builder.AddParameter("webhook-signing-secret", generated, secret: true, persist: true);
var adminKeyHash = builder.AddParameter("api-admin-key-hash", secret: true);

var choice = InfrastructureChoice.Decide(builder);
builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
{
    e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AppHost.Infrastructure")
        .LogInformation("PostgreSQL and Redis run as {Mode}: {Reason}", choice.Mode, choice.Reason);
    return Task.CompletedTask;
});
var infrastructure = JobsInfrastructure.Add(builder, choice);
var appConnectionString = infrastructure.AppConnectionString(appRolePassword);

// Least privilege: only the Migrator gets the owner's connection (WithReference); it creates the
// jobs_app role with the parameter's password, and the Api and the Workers connect as jobs_app.
var migrator = builder.AddProject<Projects.Migrator>("migrator")
    .WithReference(infrastructure.Database, JobsInfrastructure.DatabaseName)
    .WaitFor(infrastructure.Database)
    .WithEnvironment("Migrator__AppRolePassword", appRolePassword);

var api = builder.AddProject<Projects.Api>("api")
    .WithEnvironment("ConnectionStrings__jobsdb", appConnectionString)
    .WithReference(infrastructure.Cache)
    .WaitFor(infrastructure.Cache)
    .WaitForCompletion(migrator)
    .WithEnvironment("Api__Keys__admin__Hash", adminKeyHash)
    .WithEnvironment("Api__Keys__admin__Scope", "admin")
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints()
    .WithRestartOnCrash();
if (builder.Configuration.GetValue<int?>("Stack:ApiPort") is { } apiPort)
{
    api.WithEndpoint("http", endpoint => endpoint.Port = apiPort);
}

var worker = builder.AddProject<Projects.Worker>("worker")
    .WithEnvironment("ConnectionStrings__jobsdb", appConnectionString)
    .WithEnvironment("Webhooks__SigningSecret", webhookSigningSecret)
    .WaitForCompletion(migrator)
    .WithReplicas(builder.Configuration.GetValue("Stack:Workers", 2))
    .WithReplicaHealthCheck("/health")
    .WithRestartOnCrash();

OtlpRelay.Add(builder, migrator, api, worker);
StackEnvFile.Add(builder, new(infrastructure, appRolePassword, webhookSigningSecret));

builder.Build().Run();
