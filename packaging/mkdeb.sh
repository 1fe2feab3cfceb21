#!/bin/sh
# make deb: builds the mailvisor .deb from a copy of the source tree with
# packaging/debian as debian/, into BUILD/deb/, then runs lintian on it,
# which must report no error and no warning. Prints the .deb's path last.
#
#   packaging/mkdeb.sh [BUILD]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${1:-build}"
build=$(cd "${1:-build}" && pwd)
out=$build/deb
src=$out/src

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "mkdeb: $t not found (make deps installs it)" >&2
		exit 69
	}
done

rm -rf "$out"
mkdir -p "$src"
# The tree without its build directories, VCS data and node modules.
rel=${build#"$top"/}
tar -C "$top" --anchored --exclude=./.git --exclude='./build*' \
    --exclude="./$rel" --no-anchored --exclude=node_modules -cf - . |
	tar -C "$src" -xf -
rm -rf "$src/debian"
cp -R "$top/packaging/debian" "$src/debian"

echo "mkdeb: dpkg-buildpackage in $src (log: $out/build.log)" >&2
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j2) >"$out/build.log" 2>&1
then
	tail -n 40 "$out/build.log" >&2
	echo "mkdeb: dpkg-buildpackage failed; see $out/build.log" >&2
	exit 1
fi
rm -rf "$src"

deb=$(ls "$out"/mailvisor_*.deb)
echo "mkdeb: lintian $deb" >&2
lintian --fail-on error,warning --display-info "$deb" >&2 || {
	echo "mkdeb: lintian reports errors or warnings" >&2
	exit 1
}
echo "$deb"
