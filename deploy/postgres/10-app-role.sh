#!/bin/sh
# The role the app and the detector connect as (docker-entrypoint-initdb.d: runs once, on the
# first start of an empty volume).  It owns nothing: `python -m db upgrade`, run as the owner
# ($POSTGRES_USER) by the migrate job, grants it what it may do (db/privileges.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app="$POSTGRES_APP_USER" -v pw="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE :"app" LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SQL
