# Sourced by the scripts that publish NativeAOT executables (publish.sh, bench-aot.sh): the runtime identifier of
# this machine, and the C toolchain the native link needs (a C compiler and zlib's headers), installed from Debian
# packages when missing, as the test set-up installs its peers.
aot_rid=linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')

aot_toolchain() {
  local need=() sudo=""
  command -v cc >/dev/null 2>&1 || need+=(gcc)
  [ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "== installing ${need[*]} for the NativeAOT link" >&2
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}
