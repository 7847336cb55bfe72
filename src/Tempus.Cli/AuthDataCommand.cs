using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl authdata [-v]</c>: show how each source is authenticated: symmetric key or NTS, cookies, key exchanges (like chronyc authdata).</summary>
internal static class AuthDataCommand
{
    public static Command Create() => SourceViewCommand.Create("authdata", "show how each source is authenticated: symmetric key or NTS, cookies, key exchanges (like chronyc authdata).", ControlViews.AuthData);

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        SourceViewCommand.RunAsync(client, ControlViews.AuthData, verbose, json, csv, stdout, stderr, cancellationToken);
}
