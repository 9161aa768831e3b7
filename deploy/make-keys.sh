#!/usr/bin/env bash
# Writes fresh random keys for a deployment, as an env file (NAME=value lines) that both deploy/compose.yaml
# (deploy/.env) and the Kubernetes base (deploy/k8s/base/keys.env, a secretGenerator) read:
#   SG_ADMIN_KEY          an API key with the admin role: give it to the people who call the edge
#   SG_ADMIN_KEY_SHA256   its SHA-256 (hex), what the edge keeps (Auth:Keys)
#   SG_NODE_KEY           the key edges present to nodes (Edge:NodeKey); Prometheus scrapes nodes with it
#   SG_NODE_KEY_SHA256    its SHA-256, what nodes keep (Node:Keys)
#   SG_REDIS_SECRET       Cache:RedisSecret, the same on every node (signs and keys Redis cache entries)
# Usage: deploy/make-keys.sh [OUTFILE]   (default deploy/.env; an existing file is kept: delete it to rotate)
set -euo pipefail
out=${1:-"$(dirname "$0")/.env"}
if [ -e "$out" ]; then
    echo "make-keys: $out exists, kept (delete it to make new keys)" >&2
    exit 0
fi
key() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
admin=$(key)
node=$(key)
umask 077
cat >"$out" <<KEYS
SG_ADMIN_KEY=$admin
SG_ADMIN_KEY_SHA256=$(sha "$admin")
SG_NODE_KEY=$node
SG_NODE_KEY_SHA256=$(sha "$node")
SG_REDIS_SECRET=$(key)
KEYS
echo "make-keys: wrote $out (admin key: SG_ADMIN_KEY in it)"
