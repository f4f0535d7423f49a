#!/bin/sh
# The image's entrypoint: tickring-server on every interface of the container (the host decides
# what is reachable with -p), with the arguments of `docker run` appended.
#
# Listening beyond loopback needs write authentication (docs/auth.md), so one of:
#   -e TICKRING_TOKEN=<token>       written here to a private token file (mode 600) given to
#                                   --auth-token-file; the image's CLI sends the same variable
#   -v ./tokens:/run/tokens:ro ... --auth-token-file /run/tokens    a token file of your own
#   --insecure-no-auth              anyone who reaches the ports may write and delete
# Without any of them the server refuses to start and says so.
#
# The journal (--data-dir) is kept in the image's volume, /var/lib/tickring/journal, so a
# restarted container has its data back; TICKRING_DATA_DIR names another directory, and
# TICKRING_DATA_DIR= (empty) keeps everything in memory only.
set -eu
data_dir=${TICKRING_DATA_DIR-/var/lib/tickring/journal}
if [ -n "$data_dir" ]; then
  set -- --data-dir "$data_dir" "$@"
fi
set -- --http :8080 --ingest :9009 "$@"
if [ -n "${TICKRING_TOKEN:-}" ]; then
  umask 077
  dir=$(mktemp -d)
  printf '%s\n' "$TICKRING_TOKEN" >"$dir/tokens"
  exec tickring-server --auth-token-file "$dir/tokens" "$@"
fi
exec tickring-server "$@"
