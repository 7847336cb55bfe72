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
    // As chronyd -v lists its features: NTS and the SHA-2/CMAC MACs are always in; tempusd does not drop privileges
    // itself (systemd's User= does, dist/tempusd.service); then which crypto implementation this machine runs.
    string version = typeof(DaemonOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
    Console.WriteLine($"tempusd (Tempus) {version} (+NTS +SECHASH +CMAC -PRIVDROP {Tempus.Crypto.CryptoImplementation.Describe()})");
    return 0;
}

return options.CheckConfig ? Daemon.CheckConfig(options) : await Daemon.RunAsync(options).ConfigureAwait(false);
