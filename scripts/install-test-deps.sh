#!/usr/bin/env bash
# Install the real programs the test suite talks to (Debian 12): Dovecot for IMAP,
# PostgreSQL for the shared-database lane, Chromium to render the digest, tesseract for
# OCR of scanned resumes. Idempotent:
# installs only what is missing.
set -euo pipefail

missing=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: dovecot, postgresql, chromium and tesseract present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing ${missing[*]}; only root can apt-get install them" >&2
  [ -n "${CI:-}" ] && exit 1
  echo "install-test-deps: the tests needing them will be skipped" >&2
  exit 0
fi
echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps: dovecot $(dovecot --version | head -1); $(chromium --version)"
# Debian starts a cluster on install; the tests run their own, so stop the packaged one.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header | while read -r version cluster _; do
    pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
  done
fi
