#!/usr/bin/env bash
# Builds the PostgreSQL stand-in image (see Containerfile) from the local base image that
# scripts/container-base.sh makes. Usage: test/wholesale/postgres/build.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")"
podman build --runtime runc --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  -t "${1:-localhost/tollgate-test-postgres:17}" .
