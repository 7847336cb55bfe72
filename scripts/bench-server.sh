#!/usr/bin/env bash
# The side-by-side server benchmark (issue 5): builds tempusd and the load generator in Release, then runs
# tempusd -x and chronyd -x -u root one after the other on 127.0.0.1 with the same settings and prints each
# figure for both, their ratio, and as the last line:
#   ratios tempus/chrony: plain=X symmetric=Y nts=Z ntske=W
# Extra arguments go to the load generator (--quick for a ~1-minute run, --pin, --help for the rest), except
# --aot (must come first): measure the NativeAOT tempusd that scripts/publish.sh makes (about half the memory, less
# CPU per NTS-KE handshake) instead of the JIT build; its first build takes some minutes longer.
# Never touches the clock; starts and stops only its own daemons. Needs chrony: scripts/install-test-deps.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
artifacts=${TEMPUS_ARTIFACTS:-$repo/artifacts}

if [ ! -x /usr/sbin/chronyd ]; then
  echo "bench-server: chronyd is not installed: run scripts/install-test-deps.sh" >&2
  exit 3
fi

tempusd=$artifacts/bin/Tempus.Daemon/release/tempusd
if [ "${1:-}" = "--aot" ]; then
  shift
  tempusd=$artifacts/publish-aot/tempusd
  echo "== publishing the NativeAOT tempusd into $artifacts/publish-aot" >&2
  dotnet publish src/Tempus.Daemon -c Release -r "linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')" \
    -nologo -v quiet -p:PublishAot=true -p:ArtifactsPath="$artifacts" -o "$artifacts/publish-aot" >&2
else
  echo "== building tempusd (Release) into $artifacts" >&2
  dotnet build src/Tempus.Daemon -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2
fi
echo "== building the load generator (Release) into $artifacts" >&2
dotnet build bench/Tempus.LoadGen -c Release -nologo -v quiet -p:ArtifactsPath="$artifacts" >&2

exec "$artifacts/bin/Tempus.LoadGen/release/Tempus.LoadGen" --tempusd "$tempusd" "$@"
