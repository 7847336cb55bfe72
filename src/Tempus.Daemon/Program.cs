using System.Reflection;
using Tempus.Daemon;

DaemonOptions options;
try
{
    options = DaemonOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"tempusd: {e.Message}");
    Console.Error.WriteLine(DaemonOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(DaemonOptions.Usage);
    return 0;
}

if (options.ShowVersion)
{
    Console.WriteLine($"tempusd (Tempus) {typeof(DaemonOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0"}");
    return 0;
}

return options.CheckConfig ? Daemon.CheckConfig(options) : await Daemon.RunAsync(options).ConfigureAwait(false);
