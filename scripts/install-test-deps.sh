#!/usr/bin/env bash
# Install the real servers the test suite talks to (Debian 12): Dovecot for IMAP.
# Idempotent: does nothing when they are already there.
set -euo pipefail

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  echo "install-test-deps: dovecot present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: dovecot is missing and only root can apt-get install dovecot-imapd" >&2
  [ -n "${CI:-}" ] && exit 1
  echo "install-test-deps: the Dovecot tests will be skipped (pymap tests still run)" >&2
  exit 0
fi
echo "install-test-deps: installing dovecot-imapd"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
echo "install-test-deps: $(dovecot --version | head -1)"
