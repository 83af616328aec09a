#!/bin/sh
# Writes the Erlang cookie given in RABBITMQ_ERLANG_COOKIE (as the official image
# does), then replaces itself with the server, so the server is PID 1 and gets
# `docker stop`'s SIGTERM (RabbitMQ's own start script stops the node on it).
set -eu
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  cookie="$HOME/.erlang.cookie"
  rm -f "$cookie"
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$cookie"
  chmod 400 "$cookie"
fi
exec "$@"
