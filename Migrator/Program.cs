using Migrator;

// Configuration comes from appsettings and the environment only: the command line is the command.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
builder.AddServiceDefaults();
builder.AddMigratorServices();

using var host = builder.Build();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
// Started so OpenTelemetry's providers exist while the command runs (they are built by a hosted
// service); stopping the host then flushes the last spans and metrics to the exporter.
await host.StartAsync(stop.Token);
var exitCode = await host.Services.GetRequiredService<MigratorCommand>().RunAsync(args, stop.Token);
await host.StopAsync(CancellationToken.None);
return exitCode;
