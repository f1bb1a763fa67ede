using Migrator;

// Configuration comes from appsettings and the environment only: the command line is the command.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
builder.AddServiceDefaults();
builder.AddMigratorServices();

using var host = builder.Build();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
return await host.Services.GetRequiredService<MigratorCommand>().RunAsync(args, stop.Token);
