using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Tempus.Daemon.Metrics;

/// <summary>
/// Just enough of an <see cref="IWebHostBuilder"/> for Kestrel's own <c>UseKestrelCore</c> to register its server into
/// a bare <see cref="IServiceCollection"/>: service registrations are applied at once, anything else a web host would
/// do is refused, so a future Kestrel that needs more fails loudly here rather than half-configured.
/// </summary>
internal sealed class KestrelServices(IServiceCollection services) : IWebHostBuilder
{
    // IWebHostBuilder still returns the obsolete IWebHost; nothing is ever built here.
#pragma warning disable ASPDEPR008
    public IWebHost Build() => throw Refused(nameof(Build));
#pragma warning restore ASPDEPR008

    public IWebHostBuilder ConfigureAppConfiguration(Action<WebHostBuilderContext, IConfigurationBuilder> configureDelegate) => throw Refused(nameof(ConfigureAppConfiguration));

    public IWebHostBuilder ConfigureServices(Action<IServiceCollection> configureServices)
    {
        ArgumentNullException.ThrowIfNull(configureServices);
        configureServices(services);
        return this;
    }

    public IWebHostBuilder ConfigureServices(Action<WebHostBuilderContext, IServiceCollection> configureServices) => throw Refused(nameof(ConfigureServices) + " with a host context");

    public string? GetSetting(string key) => null;

    public IWebHostBuilder UseSetting(string key, string? value) => throw Refused(nameof(UseSetting));

    private static NotSupportedException Refused(string what) =>
        new($"the metrics endpoint runs Kestrel without a web host; Kestrel asked for {what}");
}
