using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tempus.Daemon.Metrics;

/// <summary>
/// The OpenMetrics/Prometheus endpoint (<c>metricsaddress</c>, off by default): Kestrel from the ASP.NET Core shared
/// framework on one address, answering <c>GET /metrics</c> with <see cref="OpenMetricsWriter"/>'s rendering of a
/// fresh <see cref="MetricsSnapshot"/>. Nothing else is served: other paths get 404, other methods 405. Kestrel's
/// own logging is off, so scrapes never reach the journal.
/// </summary>
internal sealed partial class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Func<MetricsSnapshot> _snapshot;
    private readonly ILogger _logger;

    private MetricsServer(WebApplication app, Func<MetricsSnapshot> snapshot, ILogger logger, IPEndPoint endpoint)
    {
        _app = app;
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
        // The empty builder with Kestrel's core alone: no configuration files or environment sources, no HTTPS, no
        // HTTP/3, no routing. NativeAOT compiles in whatever is reachable, used or not, and a NativeAOT process maps
        // nearly all of its code at start: the slim builder made tempusd 4.4 MB larger and cost 3.4 MiB of RSS
        // even with metricsaddress off.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ApplicationName = "tempusd" });
        // Kestrel's per-connection and per-request messages go nowhere; Tempus logs what matters itself.
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = 0;
            options.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            options.Limits.MaxConcurrentConnections = 64;
            options.Listen(endpoint);
        });

        WebApplication app = builder.Build();
        ILogger logger = loggerFactory.CreateLogger<MetricsServer>();
        var server = new MetricsServer(app, snapshot, logger, endpoint);
        app.Run(server.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot serve metrics on {endpoint}: {e.Message}", e);
        }

        server.LocalEndpoint = BoundEndpoint(app, endpoint);
        LogListening(logger, server.LocalEndpoint);
        return server;
    }

    /// <summary>Stops listening and waits for scrapes in progress.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static IPEndPoint BoundEndpoint(WebApplication app, IPEndPoint requested)
    {
        IServerAddressesFeature? addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
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

    private async Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        if (!string.Equals(context.Request.Path.Value, "/metrics", StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
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
        response.ContentType = OpenMetricsWriter.ContentType;
        response.ContentLength = body.Length;
        response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "metrics served on http://{Endpoint}/metrics (OpenMetrics)")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "metrics scrape failed: {Reason}")]
    private static partial void LogSnapshotFailed(ILogger logger, string reason);
}
