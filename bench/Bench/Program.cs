using Bench;

// bench/run.sh runs "run [--quick]"; the driver starts this same program as the Hangfire
// contender ("hangfire ...") and as our producer ("produce-ours ...") in processes of their own.
return args switch
{
    ["run", .. var rest] => await BenchRunner.RunAsync(rest.Contains("--quick") ? BenchPlan.QuickPlan : BenchPlan.Full),
    ["hangfire", _, ..] => await HangfireCommands.RunAsync(args[1..]),
    ["produce-ours", _, _, _, ..] => await OursProducer.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Bench run [--quick] | hangfire setup|enqueue N|work|produce RATE SECONDS | produce-ours RATE SECONDS single|batch [LOGFILE]");
    return 2;
}
