#!/bin/sh
# The app image's start: build the demo on first use, give Neo4j the demo's facts when it has none,
# then serve the app on NEO4J_URI (or on the demo's embedded store when NEO4J_URI is unset).
# Extra arguments go to `lmlm app` (for example --read-only).
set -eu

lmlm demo build
demo="$LMLM_HOME/demo"
store="$demo/kg"
if [ -n "${NEO4J_URI:-}" ]; then
  store="$NEO4J_URI"
  facts="$(lmlm kg --store "$store" --json stats | python -c 'import json, sys; print(json.load(sys.stdin)["facts"])')"
  if [ "$facts" = "0" ]; then
    echo "Neo4j at $NEO4J_URI holds no facts: importing the demo's"
    lmlm kg --store "$demo/kg" export "$demo/facts.jsonl"
    lmlm kg --store "$store" import "$demo/facts.jsonl"
  fi
fi

# 0.0.0.0 inside the container only: compose publishes the port on the host's loopback.
exec lmlm app --store "$store" --host 0.0.0.0 --port 8501 --no-browser "$@"
