#!/usr/bin/env bash
# The accuracy comparison (issue 4): one NTP server (tempusd -x, local stratum 1) and two clients, tempusd -x and
# chronyd -x -u root, each reaching the server through its own front of the same user-space network emulator
# (delay, jitter, asymmetry, loss; netem is not available here). Prints each client's RMS and worst clock error
# (the true offset is 0: all three share this machine's clock), its time to first synchronization, and the ratios
# Tempus/chrony; then the path's own bias at each client's front (from the emulator's stamps of every exchange: the
# jitter draws and the emulator's lateness of one run do not average out) and what each client's own timestamps add
# (its measurements.log against the same exchanges). Extra arguments go to the benchmark (--quick for a 90 s run,
# --seed N, --keep DIR to save the exchanges and the clients' logs, --help for the path settings).
# Never touches the clock; starts and stops only its own daemons. Needs chrony: scripts/install-test-deps.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# Builds go to $TEMPUS_ARTIFACTS when set (as for bench-server.sh), which the benchmark reads to find tempusd too.
artifacts=${TEMPUS_ARTIFACTS:-$repo/artifacts}
export TEMPUS_ARTIFACTS=$artifacts

if [ ! -x /usr/sbin/chronyd ]; then
  echo "bench-accuracy: chronyd is not installed: run scripts/install-test-deps.sh" >&2
  exit 3
fi

echo "== building tempusd, tempusctl and the benchmark (Release)" >&2
dotnet build src/Tempus.Daemon -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2
dotnet build src/Tempus.Cli -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2
dotnet build bench/Tempus.AccuracyBench -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2

exec "$artifacts/bin/Tempus.AccuracyBench/release/tempus-accuracy-bench" "$@"
