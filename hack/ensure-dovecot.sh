#!/usr/bin/env bash
# Installs Dovecot (IMAP, POP3, LMTP) from Debian packages for the mail integration tests.
# The tests start their own private instance (test/support/dovecot.ts); the system service is never
# wanted, and there is no systemd here anyway, so service starts are suppressed during the install.
# Idempotent and silent when Dovecot is already installed.
set -euo pipefail

if [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/pop3 ] && [ -x /usr/lib/dovecot/lmtp ]; then
  exit 0
fi

APT_WHO=ensure-dovecot
. "$(dirname "$0")/lib-apt.sh"
apt_begin Dovecot

# policy-rc.d exiting 101 tells invoke-rc.d (called by the postinst) not to start the service.
# Respect an existing policy file (containers usually ship one) and remove ours afterwards.
policy=/usr/sbin/policy-rc.d
created_policy=""
cleanup() { rm -f "$APT_OUT"; if [ -n "$created_policy" ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  created_policy=1
fi

apt_log "installing dovecot-imapd dovecot-pop3d dovecot-lmtpd from Debian packages"
export RUNLEVEL=1
apt_quiet apt-get update -qq || apt_fail "apt-get update failed"
# A postinst that still fails to start a service must not fail the install: the packages' files are
# all we need, so retry the configure step tolerantly and then check for the binaries.
if ! apt_quiet apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    dovecot-imapd dovecot-pop3d dovecot-lmtpd; then
  apt_log "apt-get install reported an error (usually a service start without systemd); continuing"
  apt_quiet dpkg --configure -a || true
fi

for bin in /usr/sbin/dovecot /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 /usr/lib/dovecot/lmtp; do
  [ -x "$bin" ] || apt_fail "install finished but $bin is missing"
done
apt_log "installed $(/usr/sbin/dovecot --version)"
