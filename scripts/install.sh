#!/usr/bin/env bash
# Installs tempusd and tempusctl (NativeAOT, from scripts/publish.sh) with the systemd unit, the _tempus user and a
# starting configuration:
#   scripts/install.sh [--destdir DIR] [--prefix PREFIX] [--from PUBLISHED-DIR]
#     --destdir DIR    stage everything under DIR (packaging, or a look before installing); nothing else is touched
#     --prefix PREFIX  where the executables go (default /usr/local: PREFIX/sbin/tempusd, PREFIX/bin/tempusctl)
#     --from DIR       take tempusd and tempusctl from DIR instead of publishing them now
# It never starts or enables the service, and never touches the clock: another time daemon (chrony, ntpd,
# systemd-timesyncd) may be running, and only one may discipline the clock. It ends by printing the commands that
# switch over. An existing /etc/tempus/tempus.conf is kept.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
destdir=""
prefix=/usr/local
from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --from) from=${2:?--from needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac

if [ -z "$from" ]; then
  from=${TEMPUS_ARTIFACTS:-$repo/artifacts}/publish-aot
  "$repo/scripts/publish.sh" "$from"
fi
for exe in tempusd tempusctl; do
  if [ ! -x "$from/$exe" ]; then
    echo "install.sh: $from/$exe is missing or not executable (run scripts/publish.sh, or give --from)" >&2
    exit 1
  fi
done
# The unit runs tempusd with MemoryDenyWriteExecute=yes, under which a JIT build (an apphost beside tempusd.dll) cannot
# generate code and crashes at start; only the NativeAOT build of scripts/publish.sh runs there.
if [ -e "$from/tempusd.dll" ]; then
  echo "install.sh: $from/tempusd is a JIT build (tempusd.dll beside it): the unit's MemoryDenyWriteExecute=yes lets only the NativeAOT build run; use scripts/publish.sh" >&2
  exit 1
fi

root=${destdir%/}
install -d -m 0755 "$root$prefix/sbin" "$root$prefix/bin" "$root/etc/systemd/system" "$root/usr/lib/sysusers.d" \
  "$root$prefix/share/doc/tempus"
install -m 0755 "$from/tempusd" "$root$prefix/sbin/tempusd"
install -m 0755 "$from/tempusctl" "$root$prefix/bin/tempusctl"
sed -e "s|/usr/local/sbin/tempusd|$prefix/sbin/tempusd|" -e "s|file:///usr/local/share|file://$prefix/share|" \
  "$repo/dist/tempusd.service" > "$root/etc/systemd/system/tempusd.service"
chmod 0644 "$root/etc/systemd/system/tempusd.service"
install -m 0644 "$repo/dist/tempus.sysusers" "$root/usr/lib/sysusers.d/tempus.conf"
install -m 0644 "$repo/README.md" "$root$prefix/share/doc/tempus/README.md"

# The configuration directory and file belong to root, readable by the daemon's group (keys may go in there).
group=root
if [ -z "$root" ] && command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/tempus.conf
  group=_tempus
fi
install -d -m 0750 -g "$group" "$root/etc/tempus" "$root/etc/tempus/conf.d" "$root/etc/tempus/sources.d"
if [ -e "$root/etc/tempus/tempus.conf" ]; then
  echo "== kept the existing $root/etc/tempus/tempus.conf (the new default is $repo/dist/tempus.conf)"
else
  install -m 0640 -g "$group" "$repo/dist/tempus.conf" "$root/etc/tempus/tempus.conf"
fi

echo "== installed into ${root:-/}: $prefix/sbin/tempusd, $prefix/bin/tempusctl, /etc/systemd/system/tempusd.service, /etc/tempus/tempus.conf"
"$root$prefix/sbin/tempusd" --check-config -f "$root/etc/tempus/tempus.conf" || true
if [ -z "$root" ]; then
  command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
  cat <<'MSG'
Not started. To switch over from another time daemon:
  tempusctl audit --config /etc/tempus/tempus.conf      # review the sources and findings first
  systemctl disable --now chrony.service 2>/dev/null; systemctl disable --now systemd-timesyncd.service 2>/dev/null
  systemctl enable --now tempusd.service
  tempusctl waitsync 30 && tempusctl tracking
MSG
fi
