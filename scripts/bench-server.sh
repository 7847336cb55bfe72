#!/usr/bin/env bash
# The side-by-side server benchmark (issue 5): builds tempusd and the load generator in Release, then runs
# tempusd -x and chronyd -x -u root one after the other on 127.0.0.1 with the same settings and prints each
# figure for both, their ratio, and as the last line:
#   ratios tempus/chrony: plain=X symmetric=Y nts=Z ntske=W
# It measures the tempusd that is shipped: the NativeAOT build scripts/publish.sh makes, which scripts/install.sh
# installs and the systemd unit runs (its first build takes a minute or two longer, and installs a C toolchain if
# there is none). Extra arguments go to the load generator (--quick for a ~1-minute run, --pin, --help for the
# rest), except --jit (must come first): measure the JIT build the tests use instead (about 2.5x the RSS).
# In the default mode it also publishes bench/Tempus.RssFloor NativeAOT and passes it as --floor: a program holding
# only the .NET runtime, Tempus's OpenSSL TLS server context and one UDP socket, whose RSS is printed as the part of
# tempusd's that is not Tempus. --jit has no floor: a JIT build's floor is mostly the JIT and what it compiled, a
# figure of its own, and the NativeAOT floor is not what a JIT tempusd stands on; next to either it would mislead.
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
    floor_args=()
    echo "== building the JIT tempusd (Release) into $artifacts" >&2
    dotnet build src/Tempus.Daemon -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2
    ;;
  *)
    # --aot, the default since the NativeAOT build is what is installed, is still accepted.
    [ "${1:-}" = "--aot" ] && shift
    tempusd=$artifacts/publish-aot/tempusd
    TEMPUS_ARTIFACTS=$artifacts "$repo/scripts/publish.sh" "$artifacts/publish-aot" >/dev/null
    # publish.sh has made sure of the C toolchain the native link needs; the floor is linked the same way.
    # shellcheck source=aot-toolchain.sh
    . "$repo/scripts/aot-toolchain.sh"
    floor=$artifacts/publish-aot-floor
    echo "== publishing bench/Tempus.RssFloor (NativeAOT, $aot_rid) into $floor" >&2
    dotnet publish bench/Tempus.RssFloor -c Release -r "$aot_rid" -nologo -v quiet \
      -p:PublishAot=true -p:ArtifactsPath="$artifacts" -o "$floor" >&2
    rm -f "$floor"/*.xml "$floor"/*.pdb
    floor_args=(--floor "$floor/tempus-rssfloor")
    ;;
esac
echo "== building the load generator (Release) into $artifacts" >&2
dotnet build bench/Tempus.LoadGen -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2

exec "$artifacts/bin/Tempus.LoadGen/release/Tempus.LoadGen" --tempusd "$tempusd" ${floor_args[@]+"${floor_args[@]}"} "$@"
