#!/usr/bin/env bash
# The side-by-side server benchmark (issue 5): builds tempusd and the load generator in Release, then runs
# tempusd -x and chronyd -x -u root one after the other on 127.0.0.1 with the same settings and prints each
# figure for both, their ratio, and as the last line:
#   ratios tempus/chrony: plain=X symmetric=Y nts=Z ntske=W
# It measures the tempusd that is shipped: the NativeAOT build scripts/publish.sh makes, which scripts/install.sh
# installs and the systemd unit runs (its first build takes a minute or two longer, and installs a C toolchain if
# there is none). Extra arguments go to the load generator (--quick for a ~1-minute run, --pin, --help for the
# rest), except --jit (must come first): measure the JIT build the tests use instead (about 2.5x the RSS).
# Never touches the clock; starts and stops only its own daemons. Needs chrony: scripts/install-test-deps.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
artifacts=${TEMPUS_ARTIFACTS:-$repo/artifacts}

if [ ! -x /usr/sbin/chronyd ]; then
  echo "bench-server: chronyd is not installed: run scripts/install-test-deps.sh" >&2
  exit 3
fi

case "${1:-}" in
  --jit)
    shift
    tempusd=$artifacts/bin/Tempus.Daemon/release/tempusd
    echo "== building the JIT tempusd (Release) into $artifacts" >&2
    dotnet build src/Tempus.Daemon -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2
    ;;
  *)
    # --aot, the default since the NativeAOT build is what is installed, is still accepted.
    [ "${1:-}" = "--aot" ] && shift
    tempusd=$artifacts/publish-aot/tempusd
    TEMPUS_ARTIFACTS=$artifacts "$repo/scripts/publish.sh" "$artifacts/publish-aot" >/dev/null
    ;;
esac
echo "== building the load generator (Release) into $artifacts" >&2
dotnet build bench/Tempus.LoadGen -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2

exec "$artifacts/bin/Tempus.LoadGen/release/Tempus.LoadGen" --tempusd "$tempusd" "$@"
