#!/usr/bin/env bash
# Builds the Tollgate image with podman from the local base images that
# scripts/container-base.sh makes (for machines that cannot pull the official node images).
# CI runs it once before the tests; test/wholesale/container.test.ts runs it again and gets
# every layer from podman's cache. Usage: scripts/container-image.sh [TAG]
#
# --format docker keeps the HEALTHCHECK (the OCI format has no field for it). runc with
# lowered ulimits: crun fails on some hosts' cgroups and rlimits, runc does not.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-localhost/tollgate:local}"
# Behind a TLS-inspecting proxy the registry's certificate chains to a CA that only this host
# trusts: `npm ci` in the build stage reads the host's CA bundle, mounted for the RUN steps
# only (a mount is never part of a layer, and the build stage is not shipped anyway).
ca=/etc/ssl/certs/ca-certificates.crt
mounts=()
if [ -f "$ca" ]; then
  npmrc="$(mktemp)"
  trap 'rm -f "$npmrc"' EXIT
  echo "cafile=/run/host-ca.crt" >"$npmrc"
  mounts+=(-v "$ca:/run/host-ca.crt:ro" -v "$npmrc:/root/.npmrc:ro")
fi
# This host's npm cache, when it has one (in CI, the run's own `npm ci` has just filled it):
# the build's `npm ci` takes the same tarballs from it, checked against the lockfile's
# integrity hashes, instead of downloading them again.
cache="$(npm config get cache 2>/dev/null || true)"
if [ -n "$cache" ] && [ -d "$cache/_cacache" ]; then
  mounts+=(-v "$cache/_cacache:/root/.npm/_cacache")
fi
podman build --format docker --runtime runc --network host \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "${mounts[@]}" \
  --build-arg BUILD_BASE=localhost/tollgate-base:node20-trixie-build \
  --build-arg RUNTIME_BASE=localhost/tollgate-base:node20-trixie \
  -t "$TAG" .
