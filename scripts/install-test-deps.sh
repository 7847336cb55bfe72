#!/usr/bin/env bash
# Installs the real peer programs the interop tests run against, from Debian's packages:
#   - chrony (chronyd, chronyc) as a package;
#   - NTPsec (ntpd, ntpdig, ntpkeygen) unpacked into .deps/ntpsec, because it conflicts with chrony;
#   - gnutls-bin (gnutls-cli) for NTS-KE handshake tests;
#   - libcap2-bin (capsh) to start NTPsec's ntpd without CAP_SYS_TIME;
#   - systemd's systemd-analyze, to verify dist/tempusd.service (nothing is started with it).
# A policy-rc.d that exits 101 stays in place while installing so no service starts and no stray
# daemon disciplines this machine's clock. Idempotent: safe to run on every test run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
deps="$repo/.deps"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

need_apt=()
command -v chronyd >/dev/null 2>&1 || [ -x /usr/sbin/chronyd ] || need_apt+=(chrony)
command -v gnutls-cli >/dev/null 2>&1 || need_apt+=(gnutls-bin)
command -v capsh >/dev/null 2>&1 || [ -x /usr/sbin/capsh ] || need_apt+=(libcap2-bin)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)

ntpsec_dir="$deps/ntpsec"
need_ntpsec=0
# Every program the interop tests run must be there, not only ntpd: a partial tree is unpacked again.
for f in usr/sbin/ntpd usr/bin/ntpdig usr/sbin/ntpkeygen usr/lib/python3/dist-packages/ntp/libntpc.so; do
  [ -e "$ntpsec_dir/$f" ] || need_ntpsec=1
done

if [ ${#need_apt[@]} -eq 0 ] && [ $need_ntpsec -eq 0 ]; then
  echo "install-test-deps: chrony, gnutls-cli, capsh, systemd-analyze and NTPsec ($ntpsec_dir) are present"
  exit 0
fi

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ $created_policy -eq 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # A package's maintainer script may still have started a daemon on a machine without policy-rc.d
  # support; make sure nothing disciplines the clock. Only a chronyd that may touch the clock is stopped:
  # instances run with -x (tests, benchmarks) are left alone.
  for p in $(pgrep -x chronyd || true); do
    if ! tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -qw -- -x; then $sudo kill "$p" 2>/dev/null || true; fi
  done
fi

if [ $need_ntpsec -eq 1 ]; then
  echo "install-test-deps: unpacking NTPsec into $ntpsec_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && chmod 777 . && apt-get download ntpsec ntpsec-ntpdig python3-ntp >/dev/null)
  rm -rf "$ntpsec_dir"
  mkdir -p "$ntpsec_dir"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$ntpsec_dir"; done
  rm -rf "$tmp"
  # ntp/ntpc.py looks for libntpc.so beside itself first; point it at the unpacked copy.
  ln -sf ../../../x86_64-linux-gnu/ntp/libntpc.so.1 "$ntpsec_dir/usr/lib/python3/dist-packages/ntp/libntpc.so"
fi

# Prove each peer runs before the tests rely on it.
/usr/sbin/chronyd --version | head -n 1
gnutls-cli --version | head -n 1
"$ntpsec_dir/usr/sbin/ntpd" --version 2>&1 | head -n 1
PYTHONPATH="$ntpsec_dir/usr/lib/python3/dist-packages" /usr/bin/python3 "$ntpsec_dir/usr/bin/ntpdig" --version 2>&1 | head -n 1
