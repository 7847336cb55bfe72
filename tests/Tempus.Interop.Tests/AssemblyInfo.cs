using System.Runtime.Versioning;

// The tests start real daemons; running them one at a time keeps a 2-core machine responsive and lets
// the NTPsec tests own 127.0.0.1:123, which ntpd cannot be moved off.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// chronyd, NTPsec and tempusd are Linux daemons; the harness uses Unix file modes and /proc.
[assembly: SupportedOSPlatform("linux")]
