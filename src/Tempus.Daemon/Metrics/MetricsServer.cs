using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Tempus.Daemon.Metrics;

/// <summary>
/// The OpenMetrics/Prometheus endpoint (<c>metricsaddress</c>, off by default): Kestrel from the ASP.NET Core shared
/// framework on one address, answering <c>GET /metrics</c> with <see cref="OpenMetricsWriter"/>'s rendering of a
/// fresh <see cref="MetricsSnapshot"/>. Nothing else is served: other paths get 404, other methods 405. Kestrel's
/// own logging is off, so scrapes never reach the journal.
/// </summary>
/// <remarks>
/// Kestrel runs bare: its own <c>UseKestrelCore</c> registers it in a service collection of its own (through
/// <see cref="KestrelServices"/>), and this class is its <see cref="IHttpApplication{TContext}"/>, reading the
/// request's features directly. There is no generic host, configuration, routing or middleware pipeline of a
/// <c>WebApplication</c>, and only HTTP/1.1 is spoken: one handler needs nothing more. NativeAOT compiles in whatever
/// is reachable, used or not, and a NativeAOT process maps most of its code at start, so what is not linked is memory
/// saved even with <c>metricsaddress</c> off: against <c>WebApplication.CreateEmptyBuilder</c> the bare server made
/// tempusd 1.4 MB smaller (9.8 to 8.4 MB) and its RSS at start 1.1 MiB smaller (17.7 to 16.6 MiB); the slim builder
/// before that had cost 4.4 MB more. The public <c>KestrelServer</c> class is no way round the registration: it links
/// in Kestrel's HTTPS configuration and made the binary 1.2 MB larger.
/// </remarks>
internal sealed partial class MetricsServer : IHttpApplication<IFeatureCollection>, IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly IServer _kestrel;
    private readonly Func<MetricsSnapshot> _snapshot;
    private readonly ILogger _logger;

    private MetricsServer(ServiceProvider services, Func<MetricsSnapshot> snapshot, ILogger logger, IPEndPoint endpoint)
    {
        _services = services;
        _kestrel = services.GetRequiredService<IServer>();
        _snapshot = snapshot;
        _logger = logger;
        LocalEndpoint = endpoint;
    }

    /// <summary>The address listened on, with the real port when port 0 was asked for.</summary>
    public IPEndPoint LocalEndpoint { get; private set; }

    /// <summary>Binds <paramref name="endpoint"/> and starts serving; throws <see cref="IOException"/> naming the address when it cannot bind.</summary>
    /// <param name="endpoint">Where to listen (<c>metricsaddress</c>); use a loopback or management address, the endpoint has no authentication.</param>
    /// <param name="snapshot">Called once per scrape, on a thread-pool thread; must be thread-safe.</param>
    /// <param name="loggerFactory">Where Tempus's own messages go (Kestrel's are not logged).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<MetricsServer> StartAsync(IPEndPoint endpoint, Func<MetricsSnapshot> snapshot, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(loggerFactory);

        // Kestrel's core alone (no HTTPS, no HTTP/3), registered by its own UseKestrelCore. Its per-connection and
        // per-request messages go nowhere; Tempus logs what matters itself.
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddOptions();
        services.AddMetrics();
        // Kestrel's constructor asks for the DiagnosticSource a web host would register; nobody listens to this one.
        services.AddSingleton<DiagnosticSource>(new DiagnosticListener("Tempus.Metrics.Kestrel"));
        new KestrelServices(services).UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = 0;
            options.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            options.Limits.MaxConcurrentConnections = 64;
            // HTTP/1.1 only: a scraper needs nothing more, and cleartext HTTP/2 would only widen what is parsed.
            options.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1);
        });

        ServiceProvider provider = services.BuildServiceProvider();
        ILogger logger = loggerFactory.CreateLogger<MetricsServer>();
        MetricsServer server;
        try
        {
            server = new MetricsServer(provider, snapshot, logger, endpoint);
            await server._kestrel.StartAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Whatever ends the start (a bind refused, the stop token), Kestrel and its services go with it.
            await provider.DisposeAsync().ConfigureAwait(false);
            if (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                throw new IOException($"cannot serve metrics on {endpoint}: {e.Message}", e);
            }

            throw;
        }

        server.LocalEndpoint = BoundEndpoint(server._kestrel, endpoint);
        LogListening(logger, server.LocalEndpoint);
        return server;
    }

    /// <summary>Stops listening and waits for scrapes in progress.</summary>
    public async ValueTask DisposeAsync()
    {
        await _kestrel.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Kestrel's context is the request's own feature collection: the handler reads nothing else.</summary>
    IFeatureCollection IHttpApplication<IFeatureCollection>.CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

    /// <summary>Nothing is held per request.</summary>
    void IHttpApplication<IFeatureCollection>.DisposeContext(IFeatureCollection context, Exception? exception)
    {
    }

    /// <summary>Answers one request; see the class summary for what is served.</summary>
    Task IHttpApplication<IFeatureCollection>.ProcessRequestAsync(IFeatureCollection context) => HandleAsync(context);

    private static IPEndPoint BoundEndpoint(IServer kestrel, IPEndPoint requested)
    {
        IServerAddressesFeature? addresses = kestrel.Features.Get<IServerAddressesFeature>();
        foreach (string address in addresses?.Addresses ?? [])
        {
            // Kestrel reports "http://127.0.0.1:34567" (IPv6 in brackets) once bound, with the real port.
            if (Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) && uri.Port > 0)
            {
                return new IPEndPoint(requested.Address, uri.Port);
            }
        }

        return requested;
    }

    private async Task HandleAsync(IFeatureCollection features)
    {
        IHttpRequestFeature request = features.GetRequiredFeature<IHttpRequestFeature>();
        IHttpResponseFeature response = features.GetRequiredFeature<IHttpResponseFeature>();
        if (!string.Equals(request.Path, "/metrics", StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        bool get = HttpMethods.IsGet(request.Method);
        if (!get && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        string text;
        try
        {
            text = OpenMetricsWriter.Write(_snapshot());
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or ArgumentException)
        {
            // A report that cannot be taken now (the daemon stopping, say) is a failed scrape, not a crash.
            LogSnapshotFailed(_logger, e.Message);
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        byte[] body = Encoding.UTF8.GetBytes(text);
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = OpenMetricsWriter.ContentType;
        response.Headers.ContentLength = body.Length;
        response.Headers.CacheControl = "no-store";
        if (get)
        {
            CancellationToken aborted = features.Get<IHttpRequestLifetimeFeature>()?.RequestAborted ?? CancellationToken.None;
            await features.GetRequiredFeature<IHttpResponseBodyFeature>().Stream.WriteAsync(body, aborted).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "metrics served on http://{Endpoint}/metrics (OpenMetrics)")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "metrics scrape failed: {Reason}")]
    private static partial void LogSnapshotFailed(ILogger logger, string reason);
}
