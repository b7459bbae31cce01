#!/usr/bin/env bash
# Release binaries that start on a Debian 12 machine without the Swift
# toolchain: the Swift runtime and Foundation are linked in
# (--static-swift-stdlib), so a binary needs only the shared libraries of the
# Debian packages it names (glibc, libpcsclite1, libssl3, ...), and has no
# $ORIGIN run path. The relative relocations are packed (-z
# pack-relative-relocs, DT_RELR: glibc 2.36 in Debian 12 reads it; linked
# with the toolchain's lld, as Debian's gold lacks the option), so the dynamic
# loader has less to do at start. libpq, libxml2 and p11-kit are not linked:
# the commands that use them dlopen them (CLibPQ, CLibXML2, KeyCustody), so
# pkg-config gives only their headers here, and a call that bypassed the
# loader would fail the link rather than load the library at every start.
# Prints the folder holding the binaries.
# usage: scripts/build-release.sh [PRODUCT...]      (default: dmboot apdu-shell)
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

products=("$@")
[ "${#products[@]}" -gt 0 ] || products=(dmboot apdu-shell)
headers_only="$REPO_DIR/.build/pkgconfig-headers-only"
mkdir -p "$headers_only"
for module in libpq libxml-2.0 p11-kit-1; do
    printf 'Name: %s\nDescription: %s headers (loaded with dlopen)\nVersion: %s\nCflags: %s\nLibs:\n' "$module" "$module" \
        "$(pkg-config --modversion "$module")" "$(pkg-config --cflags "$module")" >"$headers_only/$module.pc"
done
export PKG_CONFIG_PATH="$headers_only${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=(-c release --static-swift-stdlib --disable-local-rpath
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
for product in "${products[@]}"; do
    swift build "${flags[@]}" --product "$product" >&2
done
swift build "${flags[@]}" --show-bin-path
