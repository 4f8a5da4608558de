#!/usr/bin/env bash
# Makes local base images for the Dockerfile on a machine that cannot pull from a container
# registry: Debian trixie (its nodejs is 20.19) bootstrapped with debootstrap and imported
# into podman. Two images, standing in for the official node images the Dockerfile defaults to:
#
#   localhost/tollgate-base:node20-trixie        runtime: minbase + nodejs + user node (1000)
#   localhost/tollgate-base:node20-trixie-build  build: the runtime base + npm, python3, make, g++
#                                                and node's headers (node-gyp cannot download them)
#
# npm comes from the npm registry (the npm 10 line that the official Node 20 images carry),
# not from Debian, whose npm package pulls in a few hundred node-* packages.
#
# Idempotent: does nothing when both images exist. Needs root, debootstrap, podman and npm.
# Usage: scripts/container-base.sh            (DEBIAN_MIRROR overrides the Debian mirror)
set -euo pipefail

SUITE=trixie
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NPM_VERSION=10.8.2
RUN_IMAGE=localhost/tollgate-base:node20-trixie
BUILD_IMAGE=localhost/tollgate-base:node20-trixie-build

if podman image exists "$RUN_IMAGE" && podman image exists "$BUILD_IMAGE"; then
  echo "container-base: $RUN_IMAGE and $BUILD_IMAGE exist; nothing to do"
  exit 0
fi

root="$(mktemp -d /var/tmp/tollgate-base.XXXXXX)"
chmod 755 "$root" # apt downloads as its own user (_apt)
log="$root.log"
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root" "$log"
}
trap cleanup EXIT

step() { echo "container-base: $* ($(date -u +%T))"; }
# Quiet unless it fails: then the end of the log says why.
logged() { "$@" >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }; }

step "debootstrap $SUITE minbase"
logged debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR"

# A throwaway root: no fsync per file, no recommended packages.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/90no-recommends"
mount -t proc proc "$root/proc"
# A clean environment: nothing of this host's (CA paths, proxies' settings) leaks in.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

step "install nodejs"
logged in_root apt-get install -y nodejs
# The official node images' unprivileged user.
in_root groupadd --gid 1000 node
in_root useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*

import_image() {
  local image="$1"
  shift
  tar -C "$root" --exclude=./proc/* --exclude=./var/lib/apt/lists/* --exclude=./var/cache/apt/* \
    --numeric-owner -c . \
    | podman import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' "$@" - "$image" >/dev/null
}
step "import $RUN_IMAGE"
import_image "$RUN_IMAGE"

step "install npm $NPM_VERSION, python3, make, g++, node's headers"
# node-gyp finds the headers of Debian's node in /usr/include/node (npm_config_nodedir
# below) instead of downloading them.
logged in_root apt-get install -y python3 make g++ libnode-dev
tarball="$(cd "$root/tmp" && npm pack --silent "npm@$NPM_VERSION")"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$root/tmp/$tarball" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
rm "$root/tmp/$tarball"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
in_root npm --version >/dev/null

step "import $BUILD_IMAGE"
import_image "$BUILD_IMAGE" --change 'ENV npm_config_nodedir=/usr' --change 'ENV npm_config_update_notifier=false'
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep tollgate-base
step done
