#!/usr/bin/env bash
# Installs, upgrades, removes and purges the amd64 Debian package on this
# machine (root; CI is a fresh Debian) and checks what a Debian admin
# expects: files, the system user, the data directory, the unit (verify and
# its hardening score), the service running as its user, a config edit kept
# across an upgrade, and everything gone after purge. systemd need not be
# PID 1: the maintainer scripts start nothing then.
#   scripts/package-test.sh            (make package-test)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: needs root (dpkg -i); skipped" >&2
  [ "${EDGEHMI_REQUIRE_PACKAGE_TEST:-}" = 1 ] && exit 1
  exit 0
fi
if dpkg-query -W -f='${Status}' edgehmi 2>/dev/null | grep -q "installed" &&
  ! dpkg-query -W -f='${Version}' edgehmi | grep -q '~pkgtest'; then
  echo "package-test: a real edgehmi package is installed here; not touching it" >&2
  exit 1
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  dpkg --purge edgehmi >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
ok() { echo "package-test: ok: $*"; }

# Two builds whose stamped versions differ: the upgrade installs a new binary.
v1=1.0.0~pkgtest1 v2=1.0.0~pkgtest2
for v in $v1 $v2; do
  CGO_ENABLED=0 $GO build -trimpath -ldflags "-s -w -X main.version=$v -X main.commit=pkgtest" -o "$tmp/edgehmi-$v" .
  scripts/package.sh amd64 "$tmp/edgehmi-$v" "$v" "$tmp/dist" >/dev/null
done
deb1=$(ls "$tmp"/dist/edgehmi_${v1}_amd64.deb) deb2=$(ls "$tmp"/dist/edgehmi_${v2}_amd64.deb)

# Install.
dpkg -i "$deb1" >/dev/null || fail "dpkg -i $deb1"
[ "$(dpkg-query -W -f='${Status}' edgehmi)" = "install ok installed" ] || fail "not installed"
/usr/bin/edgehmi version | grep -q "edgehmi $v1 " || fail "version: $(/usr/bin/edgehmi version)"
for f in /usr/bin/edgehmi /lib/systemd/system/edgehmi.service /etc/edgehmi/project.yaml /etc/default/edgehmi; do
  [ -f "$f" ] || fail "$f missing"
done
dpkg-query -W -f='${Conffiles}\n' edgehmi | grep -q "/etc/edgehmi/project.yaml" || fail "project.yaml is not a conffile"
getent passwd edgehmi >/dev/null || fail "no user edgehmi"
uid=$(id -u edgehmi)
[ "$uid" -lt 1000 ] || fail "edgehmi is not a system user (uid $uid)"
[ "$(getent passwd edgehmi | cut -d: -f6)" = /var/lib/edgehmi ] || fail "edgehmi's home is not /var/lib/edgehmi"
[ "$(stat -c '%U:%G %a' /var/lib/edgehmi)" = "edgehmi:edgehmi 750" ] || fail "data dir: $(stat -c '%U:%G %a' /var/lib/edgehmi)"
[ "$(stat -c '%U:%G %a' /etc/edgehmi/project.yaml)" = "root:edgehmi 640" ] || fail "project.yaml: $(stat -c '%U:%G %a' /etc/edgehmi/project.yaml)"
[ -L /etc/systemd/system/multi-user.target.wants/edgehmi.service ] || fail "the unit is not enabled"
ok "installed $v1: files, conffiles, system user $uid, data dir, unit enabled"

systemd-analyze verify /lib/systemd/system/edgehmi.service || fail "systemd-analyze verify"
score=$(systemd-analyze security --offline=true /lib/systemd/system/edgehmi.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for edgehmi.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no security score"
awk -v s="$score" 'BEGIN { exit !(s < 2.0) }' || fail "exposure $score, want < 2.0"
ok "systemd-analyze verify passes; security exposure $score"

# The service's user can read the project and run it in the data dir.
runuser -u edgehmi -- /usr/bin/edgehmi check --config /etc/edgehmi/project.yaml >/dev/null || fail "check as edgehmi"
runuser -u edgehmi -- touch /etc/edgehmi/displays/.probe || fail "edgehmi cannot save displays"
rm -f /etc/edgehmi/displays/.probe
if runuser -u edgehmi -- touch /etc/edgehmi/.probe 2>/dev/null; then fail "edgehmi can write /etc/edgehmi"; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u edgehmi -- /usr/bin/edgehmi serve --config /etc/edgehmi/project.yaml --data /var/lib/edgehmi \
  --listen 127.0.0.1:$port --log-level error >"$tmp/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "serve as edgehmi: $(cat "$tmp/serve.out")"
# restore refuses while the server holds the data directory
/usr/bin/edgehmi backup --data /var/lib/edgehmi --out "$tmp/live.db" >/dev/null || fail "backup while serving"
if /usr/bin/edgehmi restore --data /var/lib/edgehmi --in "$tmp/live.db" >/dev/null 2>&1; then fail "restore ran while serving"; fi
kill "$pid"; wait "$pid" || true; pid=""
[ "$(stat -c %U /var/lib/edgehmi/edgehmi.db)" = edgehmi ] || fail "database not owned by edgehmi"
ok "runs as edgehmi: /healthz 200, database in /var/lib/edgehmi; backup while serving, restore refused"

# Upgrade: the admin's edit survives, the new binary is in place, data stays.
sed -i 's/^name: .*/name: Line 3 (edited by the admin)/' /etc/edgehmi/project.yaml
dpkg -i "$deb2" >/dev/null || fail "upgrade"
/usr/bin/edgehmi version | grep -q "edgehmi $v2 " || fail "after upgrade: $(/usr/bin/edgehmi version)"
grep -q '^name: Line 3 (edited by the admin)$' /etc/edgehmi/project.yaml || fail "the config edit was lost in the upgrade"
[ -f /var/lib/edgehmi/edgehmi.db ] || fail "the database was lost in the upgrade"
[ "$(id -u edgehmi)" = "$uid" ] || fail "the user changed in the upgrade"
ok "upgraded to $v2: config edit kept, database kept"

# Remove keeps config and data; purge takes them, and the user.
dpkg --remove edgehmi >/dev/null || fail "remove"
[ ! -e /usr/bin/edgehmi ] || fail "binary left after remove"
grep -q 'edited by the admin' /etc/edgehmi/project.yaml || fail "remove took the config"
[ -f /var/lib/edgehmi/edgehmi.db ] || fail "remove took the data"
dpkg --purge edgehmi >/dev/null || fail "purge"
[ ! -e /etc/edgehmi ] || fail "/etc/edgehmi left after purge: $(ls -R /etc/edgehmi)"
[ ! -e /var/lib/edgehmi ] || fail "/var/lib/edgehmi left after purge"
! getent passwd edgehmi >/dev/null || fail "user edgehmi left after purge"
! getent group edgehmi >/dev/null || fail "group edgehmi left after purge"
[ ! -e /etc/systemd/system/multi-user.target.wants/edgehmi.service ] || fail "enable link left after purge"
ok "removed (config, data kept), purged (config, data, user, group gone)"
