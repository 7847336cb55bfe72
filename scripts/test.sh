#!/usr/bin/env bash
# Installs what the tests need (chrony, NTPsec unpacked into .deps/, gnutls-cli) and runs every test:
# unit, protocol, and interop against the real peer programs on loopback. Never touches the system clock.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash scripts/install-test-deps.sh

dotnet build Tempus.slnx -c Release -warnaserror -nologo -v quiet
# Test assemblies run one at a time: the interop tests start real daemons and the machine has two cores.
mkdir -p artifacts
set +e
dotnet test Tempus.slnx -c Release --no-build -nologo -m:1 2>&1 | tee artifacts/test.log
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over the test assemblies' "Passed!/Failed!" lines.
python3 - "$repo/artifacts/test.log" <<'PY'
import re, sys
passed = failed = skipped = assemblies = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"(Passed|Failed)!\s+-\s+Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+)", line)
    if m:
        assemblies += 1
        failed += int(m.group(2)); passed += int(m.group(3)); skipped += int(m.group(4))
print(f"test assemblies: {assemblies}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
