#!/usr/bin/env bash
# Install the real servers the test suite starts by itself (Dovecot IMAP, PostgreSQL 15)
# and make sure no system-wide copy of them runs (the tests pick their own free ports on
# 127.0.0.1 and must not find 143/5432 taken or a stray daemon holding files).
#
# Idempotent: safe to run on every CI run; it does nothing when all is already in place.
# Needs root (CI and the dev machines are root; elsewhere run it with sudo).
set -euo pipefail

PACKAGES=(dovecot-imapd postgresql)
PG_VERSION=15
LOG="$(mktemp -t install-test-servers.XXXXXX.log)"
OUR_POLICY=""

say() { printf 'install-test-servers: %s\n' "$*"; }
die() {
    say "ERROR: $*" >&2
    if [[ -s "$LOG" ]]; then
        say "last lines of $LOG:" >&2
        tail -n 30 "$LOG" >&2
    fi
    exit 1
}
cleanup() {
    # Remove the policy-rc.d we added (never one that was already there).
    if [[ -n "$OUR_POLICY" ]]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

if [[ "$(id -u)" -ne 0 ]]; then
    die "must run as root (try: sudo bash scripts/install-test-servers.sh)"
fi
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian/Ubuntu only"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    # apt-get update only when the package lists do not know a package we need.
    need_update=0
    for pkg in "${missing[@]}"; do
        cand="$(candidate "$pkg")"
        if [[ -z "$cand" || "$cand" == "(none)" ]]; then need_update=1; fi
    done
    if ((need_update)); then
        say "apt-get update"
        apt-get update -qq >>"$LOG" 2>&1 || die "apt-get update failed"
    fi
    # Keep the packages' maintainer scripts from starting daemons (Debian's policy-rc.d).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        OUR_POLICY=1
    fi
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >>"$LOG" 2>&1 || die "apt-get install ${missing[*]} failed"
fi

# --- no system-wide daemons ---------------------------------------------------------
# Dovecot: stop it if running and keep it from starting at boot.
if pgrep -x dovecot >/dev/null 2>&1; then
    say "stopping the system dovecot"
    if [[ -s /run/dovecot/master.pid ]]; then
        kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true
    else
        service dovecot stop >>"$LOG" 2>&1 || true
    fi
fi
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now dovecot.service dovecot.socket postgresql.service >>"$LOG" 2>&1 || true
fi
update-rc.d dovecot disable >>"$LOG" 2>&1 || true
update-rc.d postgresql disable >>"$LOG" 2>&1 || true

# PostgreSQL: Debian creates a "main" cluster on 5432; stop it and mark it manual.
if command -v pg_lsclusters >/dev/null; then
    while read -r ver name _port status _rest; do
        [[ -n "$ver" ]] || continue
        if [[ "$status" == online* ]]; then
            say "stopping the system PostgreSQL cluster $ver/$name"
            pg_ctlcluster "$ver" "$name" stop >>"$LOG" 2>&1 || true
        fi
        conf="/etc/postgresql/$ver/$name/start.conf"
        if [[ -f "$conf" ]] && ! grep -qx 'manual' "$conf"; then
            sed -i 's/^auto$/manual/' "$conf"
        fi
    done < <(pg_lsclusters -h 2>/dev/null)
fi

# --- the unprivileged Maildir owner Dovecot needs ------------------------------------
if ! id vmail >/dev/null 2>&1; then
    say "creating system user vmail"
    useradd -r -U -d /nonexistent -s /usr/sbin/nologin vmail >>"$LOG" 2>&1 \
        || die "useradd vmail failed"
fi

# --- check ---------------------------------------------------------------------------
[[ -x /usr/sbin/dovecot ]] || die "/usr/sbin/dovecot missing after install"
[[ -x "/usr/lib/postgresql/$PG_VERSION/bin/pg_ctl" ]] \
    || die "/usr/lib/postgresql/$PG_VERSION/bin/pg_ctl missing after install"
for user in dovecot dovenull postgres vmail; do
    id "$user" >/dev/null 2>&1 || die "system user $user missing"
done
say "ok (dovecot $(dovecot --version | cut -d' ' -f1), postgresql $PG_VERSION)"
rm -f "$LOG"
