#!/usr/bin/env bash
# A real Neo4j Community server for tests, without Docker: run.sh start|stop|status
#
#   eval "$(docker/neo4j-test/run.sh start)"   # prints the export lines on stdout, the rest on stderr
#   docker/neo4j-test/run.sh status
#   docker/neo4j-test/run.sh stop
#
# The jars (org.neo4j:neo4j, see pom.xml) are fetched once with Maven into a cache outside the clone,
# ${LMLM_CACHE:-$HOME/.cache/lmlm}/neo4j-5.26.12/lib, and Launcher.java runs them directly.
# Settings from the environment:
#   LMLM_NEO4J_PORT   Bolt port (default 7688, so a user's own Neo4j on 7687 is left alone)
#   NEO4J_PASSWORD    password of user neo4j (default lmlm-test-password)
#   LMLM_NEO4J_HOME   data dir (holds data/, neo4j.pid, neo4j.log, and import/: the only folder
#                     LOAD CSV may read, exported as LMLM_NEO4J_IMPORT); default a fresh temp dir
#                     that `stop` deletes
#   LMLM_PYTHON       a Python with the neo4j driver: start then waits until the driver connects
#   LMLM_NEO4J_HEAP   JVM heap (default 1g);  LMLM_NEO4J_START_TIMEOUT  seconds to wait (default 120)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=5.26.12
CACHE=${LMLM_CACHE:-$HOME/.cache/lmlm}/neo4j-$VERSION
LIB=$CACHE/lib
MARKER=$CACHE/lib.complete
PORT=${LMLM_NEO4J_PORT:-7688}
PASSWORD=${NEO4J_PASSWORD:-lmlm-test-password}
HEAP=${LMLM_NEO4J_HEAP:-1g}
START_TIMEOUT=${LMLM_NEO4J_START_TIMEOUT:-120}
# Where `stop` and `status` find the data dir of the server on this port.
POINTER=${TMPDIR:-/tmp}/lmlm-neo4j-$PORT.home
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

say() { echo "run.sh: $*" >&2; }

fetch_jars() {
    [[ -f $MARKER ]] && return 0
    command -v mvn >/dev/null || { say "mvn is not installed: it fetches the Neo4j jars once"; exit 1; }
    say "fetching Neo4j $VERSION jars into $LIB (once)"
    mkdir -p "$LIB"
    mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory="$LIB" -DincludeScope=runtime >&2
    touch "$MARKER"  # written only after Maven succeeded: a half-done fetch is redone next time
}

home_dir() { [[ -f $POINTER ]] && cat "$POINTER"; }

running_pid() {
    local home pid
    home=$(home_dir) || return 1
    [[ -f $home/neo4j.pid ]] || return 1
    pid=$(cat "$home/neo4j.pid")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

print_exports() {
    echo "export NEO4J_URI=bolt://127.0.0.1:$PORT"
    echo "export NEO4J_USER=neo4j"
    echo "export NEO4J_PASSWORD=$PASSWORD"
    echo "export LMLM_NEO4J_HOME=$1"
    echo "export LMLM_NEO4J_IMPORT=$1/import"
}

start() {
    local pid home
    if pid=$(running_pid); then
        say "already running (pid $pid) on port $PORT"
        print_exports "$(home_dir)"
        return 0
    fi
    if port_in_use; then
        say "port $PORT is taken by another process; set LMLM_NEO4J_PORT to a free port"
        exit 1
    fi
    fetch_jars
    if [[ -n ${LMLM_NEO4J_HOME:-} ]]; then
        home=$LMLM_NEO4J_HOME
        mkdir -p "$home"
    else
        home=$(mktemp -d "${TMPDIR:-/tmp}/lmlm-neo4j.XXXXXX")
        touch "$home/.temporary"  # stop deletes a data dir that start created
    fi
    home=$(cd "$home" && pwd)
    : >"$home/neo4j.log"  # now, not in the background: the READY of an earlier run must not count
    # JVM options as Neo4j's own neo4j.conf ships them (without java.nio, index population can stall).
    nohup "$JAVA" "-Xmx$HEAP" \
        --add-opens=java.base/java.nio=ALL-UNNAMED \
        --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
        --add-opens=java.base/java.lang=ALL-UNNAMED \
        -Dio.netty.tryReflectionSetAccessible=true \
        -cp "$LIB/*" "$HERE/Launcher.java" "$home" "$PORT" "$PASSWORD" \
        >"$home/neo4j.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$home/neo4j.pid"
    echo "$home" >"$POINTER"
    say "starting Neo4j (pid $pid) on port $PORT, data in $home"
    local waited=0
    until grep -q "^READY bolt://127.0.0.1:$PORT\$" "$home/neo4j.log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= START_TIMEOUT)); then
            say "Neo4j did not become ready within ${waited}s; last lines of $home/neo4j.log:"
            tail -n 30 "$home/neo4j.log" >&2 || true
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$POINTER" "$home/neo4j.pid"
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "ready after ${waited}s"
    check_with_driver
    print_exports "$home"
}

# With LMLM_PYTHON (a Python with the neo4j driver, e.g. the project venv's), also wait until the
# driver itself connects and authenticates, as the tests will.
check_with_driver() {
    [[ -n ${LMLM_PYTHON:-} ]] || return 0
    local code='import sys, neo4j
d = neo4j.GraphDatabase.driver(sys.argv[1], auth=("neo4j", sys.argv[2]), connection_timeout=3)
d.verify_connectivity(); d.close()'
    for _ in $(seq 30); do
        "$LMLM_PYTHON" -c "$code" "bolt://127.0.0.1:$PORT" "$PASSWORD" 2>/dev/null && { say "Bolt answers the Python driver"; return 0; }
        sleep 1
    done
    say "the Python driver could not connect to bolt://127.0.0.1:$PORT within 30 s"
    exit 1
}

stop() {
    local pid home
    home=$(home_dir) || { say "not running on port $PORT"; return 0; }
    if pid=$(running_pid); then
        kill -TERM "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null; do
            if ((waited >= 30)); then
                say "no exit 30s after SIGTERM; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 1
            waited=$((waited + 1))
        done
        say "stopped (pid $pid)"
    else
        say "not running on port $PORT"
    fi
    rm -f "$POINTER" "$home/neo4j.pid"
    if [[ -f $home/.temporary ]]; then
        rm -rf "$home"
    fi
}

status() {
    local pid
    if pid=$(running_pid); then
        echo "running: pid $pid, bolt://127.0.0.1:$PORT, data in $(home_dir)"
    else
        echo "not running on port $PORT"
        return 1
    fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
