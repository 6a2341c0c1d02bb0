#!/usr/bin/env bash
# Installs what the integration tests need to start their own real servers:
#   - redis-server and promtool (Debian packages redis-server, prometheus),
#   - the Apache Kafka broker jars (Maven Central, via tests/infra/pom.xml) in
#     tests/infra/target/lib.
# Idempotent and fast when everything is there already. Starts no service: the test
# fixtures (tests/servers.py) start their own instances on free ports, so the system
# services that the Debian packages ship are kept from starting (policy-rc.d) and, on a
# systemd machine, disabled again.
# Needs root (or password-less sudo) only when a Debian package is missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/target/lib"
POM="$HERE/pom.xml"
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS

say() { printf 'setup.sh: %s\n' "$*"; }
die() { printf 'setup.sh: ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
    else
        die "need root to run: $* (re-run this script as root or with password-less sudo)"
    fi
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

# ------------------------------------------------------------------ Debian packages
pkgs=()
have redis-server || pkgs+=(redis-server)
have promtool || pkgs+=(prometheus)
have java || pkgs+=(openjdk-17-jre-headless)
have mvn || pkgs+=(maven)

if [ "${#pkgs[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get to install them"
    say "installing Debian packages: ${pkgs[*]}"

    # Refresh the package lists only when apt has none for one of the packages.
    need_update=0
    for p in "${pkgs[@]}"; do
        cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
        if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; fi
    done
    if [ "$need_update" -eq 1 ]; then
        say "apt-get update (package lists lack ${pkgs[*]})"
        as_root apt-get update -q
    fi

    # Keep the packages' own services (redis on 6379, prometheus on 9090,
    # node-exporter) from starting: policy-rc.d answering 101 = "action forbidden",
    # honoured by invoke-rc.d and deb-systemd-invoke. Only our own file is removed.
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        own_policy=1
    fi
    cleanup_policy() { if [ "$own_policy" -eq 1 ]; then as_root rm -f "$policy"; fi; }
    trap cleanup_policy EXIT

    apt_install() {
        as_root apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"
    }
    if ! apt_install; then
        say "apt-get install failed; refreshing package lists and trying once more"
        as_root apt-get update -q
        apt_install
    fi
    cleanup_policy
    own_policy=0
    trap - EXIT

    # On a machine booted with systemd, the units were enabled by the packages: turn
    # them off so that nothing of theirs runs now or after a reboot.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        for unit in redis-server prometheus prometheus-node-exporter; do
            if systemctl list-unit-files "$unit.service" >/dev/null 2>&1; then
                as_root systemctl disable --now "$unit.service" >/dev/null 2>&1 || true
            fi
        done
        say "disabled the system services redis-server/prometheus (tests run their own)"
    fi
else
    say "redis-server, promtool, java and mvn already installed"
fi

redis_bin="$(command -v redis-server || echo /usr/bin/redis-server)"
promtool_bin="$(command -v promtool || echo /usr/bin/promtool)"
say "redis-server: $("$redis_bin" --version | head -n1)"
say "promtool: $("$promtool_bin" --version 2>&1 | head -n1)"

java_major="$(java -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {print $2}')"
if [ -z "$java_major" ] || [ "${java_major%%.*}" -lt 17 ]; then
    die "Java 17+ is needed for the Kafka 4 test broker; found '${java_major:-none}'"
fi

# ------------------------------------------------------------------ Kafka broker jars
# target/lib/.complete holds the pom's checksum: a changed pom (e.g. a new Kafka
# version) or an interrupted download makes the jars be fetched again.
pom_sum="$(sha256sum "$POM" | cut -d' ' -f1)"
if [ -f "$LIB/.complete" ] && [ "$(cat "$LIB/.complete")" = "$pom_sum" ]; then
    say "Kafka jars already in $LIB ($(find "$LIB" -name '*.jar' | wc -l) jars)"
else
    say "fetching the Kafka broker jars from Maven Central into $LIB"
    tmp="$HERE/target/lib.partial"
    rm -rf "$tmp"
    mkdir -p "$HERE/target"
    t0=$SECONDS
    # (sed: Maven 3.8 prints colour resets even in batch mode)
    mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' \
        || die "Maven could not fetch the Kafka jars (see its output above)"
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven ran but no kafka_2.13 jar in $tmp"
    rm -rf "$LIB"
    mv "$tmp" "$LIB"
    echo "$pom_sum" > "$LIB/.complete"
    say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars ($(du -sh "$LIB" | cut -f1)) in $((SECONDS - t0))s"
fi
say "Kafka: $(basename "$(ls "$LIB"/kafka_2.13-*.jar)" .jar)"
say "done in $((SECONDS - started))s"
