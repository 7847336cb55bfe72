#!/usr/bin/env bash
# Publishes tempusd and tempusctl as NativeAOT executables (STYLE rule 4) into one folder:
#   scripts/publish.sh [OUTPUT-DIR]      (default: artifacts/publish-aot; build files go to $TEMPUS_ARTIFACTS or artifacts/)
# A NativeAOT tempusd starts in a few milliseconds and needs less than half the memory of the JIT build
# (issue 5: VmRSS about 18 MiB instead of 50 MiB at start). Needs a C toolchain (clang or gcc) and zlib headers for
# the native link; the ILCompiler package comes from NuGet (the SDK picks its version). Tests use the JIT build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
artifacts=${TEMPUS_ARTIFACTS:-$repo/artifacts}
out=${1:-$artifacts/publish-aot}
rid=linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')

# The native link needs a C compiler and zlib's headers; install them as the test set-up installs its peers.
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "== installing ${need[*]} for the NativeAOT link" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$out"
for project in src/Tempus.Daemon src/Tempus.Cli; do
  echo "== publishing $project (NativeAOT, $rid) into $out" >&2
  dotnet publish "$project" -c Release -r "$rid" -nologo -v quiet \
    -p:PublishAot=true -p:ArtifactsPath="$artifacts" -o "$out" >&2
done

# Publishing also copies the libraries' XML docs and IL .pdb files, of no use next to a native executable; the .dbg
# files (native symbols for gdb and perf) stay.
rm -f "$out"/*.xml "$out"/*.pdb
ls -l "$out/tempusd" "$out/tempusctl"
