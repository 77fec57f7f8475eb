#!/usr/bin/env bash
# Nightly backup (docs/operations.md, TRUST S-24): a logical dump with its manifest, the
# encrypted claim documents, both copied to the second site. Run from cron as the huzhu user
# with the platform's environment:
#   15 1 * * *  set -a; . /etc/huzhu/huzhu.env; /srv/huzhu/deploy/backup.sh
# BACKUP_DIR (default /srv/huzhu/backups), BACKUP_REMOTE (rsync target at the second site,
# e.g. backup@dr.example.org:/backups/huzhu), BACKUP_KEEP_DAYS (default 35).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${BACKUP_DIR:-/srv/huzhu/backups}"
KEEP="${BACKUP_KEEP_DAYS:-35}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$DIR"
umask 077
.venv/bin/huzhu backup dump --out "$DIR/huzhu-$STAMP.dump"
# Claim documents are already encrypted (AES-256-GCM); copied as they are.
DOCS="${HUZHU_DOCUMENTS_DIR:-${HUZHU_VAR_DIR:-var}/documents}"
if [ -d "$DOCS" ]; then
    tar -C "$DOCS" -cf "$DIR/documents-$STAMP.tar" .
fi
if [ -n "${BACKUP_REMOTE:-}" ]; then
    rsync -a --partial "$DIR/" "$BACKUP_REMOTE/"
fi
find "$DIR" -name 'huzhu-*.dump*' -mtime +"$KEEP" -delete
find "$DIR" -name 'documents-*.tar' -mtime +"$KEEP" -delete
