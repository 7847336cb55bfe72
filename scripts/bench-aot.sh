#!/usr/bin/env bash
# The server engine's CPU per request as tempusd ships it, NativeAOT-compiled (bench/Tempus.AotBench):
#   scripts/bench-aot.sh [--quick] [--rounds N] [--iterations M]
# BenchmarkDotNet runs the JIT, which can compile the hot path better than NativeAOT does (the AES-NI round-key
# getters stayed calls in tempusd and not under the JIT), so this publishes the benchmark NativeAOT and runs it.
# In-process engine calls only: no network, a fixed clock. Build files go to $TEMPUS_ARTIFACTS or artifacts/.
# Needs a C toolchain (clang or gcc) and zlib headers for the native link, as scripts/publish.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
artifacts=${TEMPUS_ARTIFACTS:-$repo/artifacts}
out=$artifacts/aotbench

# shellcheck source=aot-toolchain.sh
. "$repo/scripts/aot-toolchain.sh"
aot_toolchain

echo "== publishing bench/Tempus.AotBench (NativeAOT, $aot_rid) into $out" >&2
dotnet publish bench/Tempus.AotBench -c Release -r "$aot_rid" -nologo -v quiet \
  -p:PublishAot=true -p:ArtifactsPath="$artifacts" -o "$out" >&2
# Publishing also copies the libraries' XML docs and IL .pdb files; the .dbg file (native symbols for perf) stays.
rm -f "$out"/*.xml "$out"/*.pdb
exec "$out/tempus-aotbench" "$@"
