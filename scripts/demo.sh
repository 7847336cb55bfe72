#!/usr/bin/env bash
# The main job on loopback, with everything it needs generated in a private state folder:
# build, generate a key file, start tempusd (clock control off), query it with a key, print, stop.
# Touches no system clock and nothing outside the repository's .tempus-demo/ folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

echo "== building (Release)"
dotnet build src/Tempus.Daemon -c Release -nologo -v quiet
dotnet build src/Tempus.Cli -c Release -nologo -v quiet
tempusd="$repo/artifacts/bin/Tempus.Daemon/release/tempusd"
tempusctl="$repo/artifacts/bin/Tempus.Cli/release/tempusctl"

state="$repo/.tempus-demo"
rm -rf "$state"
mkdir -m 700 -p "$state"

echo "== generating keys: $state/tempus.keys"
"$tempusctl" keygen --output "$state/tempus.keys" --format chrony

echo "== generating a private CA and NTS-KE server certificate: $state/pki"
"$tempusctl" ntscert --dir "$state/pki" --name localhost --name 127.0.0.1 --days 30

# Random high ports; if either is taken, tempusd says so and the next pair is tried.
pick_ports() { port=$((20000 + RANDOM % 20000)); ntsport=$((40000 + RANDOM % 20000)); }
pick_ports
cat > "$state/tempus.conf" <<CONF
# Demo server: loopback only, authenticated with symmetric keys and NTS.
bindaddress 127.0.0.1
bindaddress ::1
port $port
allow 127.0.0.0/8
allow ::1
local stratum 3
keyfile $state/tempus.keys
trustedkey 1-20
ntsservercert $state/pki/server.crt
ntsserverkey $state/pki/server.key
ntsport $ntsport
ntsdumpdir $state/nts
bindcmdaddress $state/server.sock
CONF
echo "== config: $state/tempus.conf"
cat "$state/tempus.conf"

start_tempusd() {
  "$tempusd" -x -f "$state/tempus.conf" 2>"$state/tempusd.log" &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "NTS-KE server listening on" "$state/tempusd.log" && return 0
    kill -0 $pid 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

for attempt in 1 2 3 4 5; do
  echo "== starting tempusd -x -f $state/tempus.conf"
  if start_tempusd; then break; fi
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  if [ $attempt -eq 5 ]; then cat "$state/tempusd.log"; exit 1; fi
  echo "   (ports $port/$ntsport not usable, trying others)"
  old_port=$port; old_ntsport=$ntsport; pick_ports
  sed -i "s/^port $old_port\$/port $port/; s/^ntsport $old_ntsport\$/ntsport $ntsport/" "$state/tempus.conf"
done
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
cat "$state/tempusd.log"

for key in 1 11; do
  echo "== tempusctl query 127.0.0.1 --port $port --key $key --keyfile $state/tempus.keys"
  "$tempusctl" query 127.0.0.1 --port "$port" --key "$key" --keyfile "$state/tempus.keys"
done
echo "== the same as JSON"
"$tempusctl" query 127.0.0.1 --port "$port" --key 1 --keyfile "$state/tempus.keys" --json
echo "== tempusctl query localhost --nts --ntsport $ntsport --ca $state/pki/ca.crt"
"$tempusctl" query localhost --nts --ntsport "$ntsport" --ca "$state/pki/ca.crt"
echo "== the same as JSON"
"$tempusctl" query localhost --nts --ntsport "$ntsport" --ca "$state/pki/ca.crt" --json

# A second tempusd, the client: it keeps (virtual, -x) time from the server over NTS and with a symmetric
# key, and one plain-NTP line shows what the default authselectmode does with an unauthenticated source.
cat > "$state/client.conf" <<CONF
# Demo client: clock control off (-x), sources on loopback polled every second.
port 0
ntstrustedcerts $state/pki/ca.crt
ntsdumpdir $state/client-nts
keyfile $state/tempus.keys
driftfile $state/client.drift
makestep 0.1 3
server localhost port $port nts ntsport $ntsport iburst minpoll 0 maxpoll 0
server 127.0.0.1 port $port key 1 iburst minpoll 0 maxpoll 0
server ::1 port $port iburst minpoll 0 maxpoll 0
bindcmdaddress $state/client.sock
CONF
echo "== client config: $state/client.conf"
cat "$state/client.conf"
echo "== starting tempusd -x -f $state/client.conf (the client)"
"$tempusd" -x -f "$state/client.conf" 2>"$state/client.log" &
client=$!
trap 'kill $pid $client 2>/dev/null || true; wait $pid $client 2>/dev/null || true' EXIT
ctl() { "$tempusctl" --socket "$state/client.sock" "$@"; }
echo "== tempusctl waitsync 30 0.01 (up to 30 s)"
ctl waitsync 30 0.01
for view in "tracking" "sources -v" "sourcestats" "selectdata -v" "authdata"; do
  echo "== tempusctl $view"
  ctl $view
done
echo "== tempusctl --socket $state/server.sock serverstats (the server)"
"$tempusctl" --socket "$state/server.sock" serverstats

echo "== stopping both daemons"
kill -TERM $pid $client
wait $pid $client || true
trap - EXIT
tail -n 1 "$state/tempusd.log"
tail -n 1 "$state/client.log"
