#!/usr/bin/env bash
# Builds the Debian package of one architecture with nfpm (a Go tool of the
# module in build/package, from the Go module proxy):
#   scripts/package.sh GOARCH BINARY VERSION OUTDIR
# GOARCH is amd64, arm64 or arm (GOARM=7, Debian's armhf). VERSION is the
# build's version (git describe); the package version is made from it.
set -euo pipefail
cd "$(dirname "$0")/.."
goarch=$1 bin=$2 version=$3 out=$4
GO=${GO:-go}
case "$goarch" in
  amd64|arm64) debarch=$goarch ;;
  arm) debarch=arm7 ;;   # nfpm's name for armhf
  *) echo "package.sh: no Debian architecture for GOARCH=$goarch" >&2; exit 2 ;;
esac
# Debian versions start with a digit: v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3+4.gabc,
# a bare commit (no tag yet) -> 0.0.0~git.COMMIT.
v=${version#v}
if [[ $v =~ ^[0-9] ]]; then
  v=${v//-/+}; v=${v/+g/.g}; v=${v//+dirty/.dirty}
else
  v="0.0.0~git.${v//-/.}"
fi
mkdir -p "$out"
nfpm=$PWD/bin/nfpm
if [ ! -x "$nfpm" ] || [ build/package/go.mod -nt "$nfpm" ]; then
  $GO -C build/package build -o "$nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm
fi
abs() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
bin=$(abs "$bin"); out=$(abs "$out")
cd build/package
DEB_VERSION=$v DEB_ARCH=$debarch EDGEHMI_BIN=$bin REPO=$(cd ../.. && pwd) \
  "$nfpm" package --config nfpm.yaml --packager deb --target "$out/" >&2
# nfpm names it edgehmi_VERSION_ARCH.deb (armhf for arm7)
ls "$out"/edgehmi_"$v"_*.deb
