#!/usr/bin/env bash
# Installs Dovecot (IMAP, POP3, LMTP) from Debian packages for the mail integration tests.
# The tests start their own private instance (test/support/dovecot.ts); the system service is never
# wanted, and there is no systemd here anyway, so service starts are suppressed during the install.
# Idempotent and silent when Dovecot is already installed.
set -euo pipefail

if [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/pop3 ] && [ -x /usr/lib/dovecot/lmtp ]; then
  exit 0
fi

log() { echo "[ensure-dovecot] $*" >&2; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "Dovecot is missing and installing it needs root (or sudo)"; exit 1; }
  sudo=(sudo -E)
fi

# policy-rc.d exiting 101 tells invoke-rc.d (called by the postinst) not to start the service.
# Respect an existing policy file (containers usually ship one) and remove ours afterwards.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  created_policy=1
fi
out=$(mktemp)
cleanup() { rm -f "$out"; if [ -n "$created_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

log "installing dovecot-imapd dovecot-pop3d dovecot-lmtpd from Debian packages"
export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
# apt's chatter goes to a file that is shown only when something goes wrong.
"${sudo[@]}" apt-get update -qq >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
# A postinst that still fails to start a service must not fail the install: the packages' files are
# all we need, so retry the configure step tolerantly and then check for the binaries.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    dovecot-imapd dovecot-pop3d dovecot-lmtpd >"$out" 2>&1; then
  log "apt-get install reported an error (usually a service start without systemd); continuing"
  "${sudo[@]}" dpkg --configure -a >>"$out" 2>&1 || true
fi

for bin in /usr/sbin/dovecot /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 /usr/lib/dovecot/lmtp; do
  [ -x "$bin" ] || { cat "$out" >&2; log "install finished but $bin is missing"; exit 1; }
done
log "installed $(/usr/sbin/dovecot --version)"
