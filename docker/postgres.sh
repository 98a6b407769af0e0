#!/bin/sh
# PostgreSQL for docker/compose.yml: Rasa's tracker store. On the first start (an empty volume) it creates
# the cluster, the DB_USER role with DB_PASSWORD and the DB_NAME database; the superuser can log in only
# through the local socket as the OS user postgres. Then it runs in the foreground as postgres.
set -eu
: "${DB_NAME:?}" "${DB_USER:?}" "${DB_PASSWORD:?set DB_PASSWORD}"
DATA=/var/lib/postgresql/tanya
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA" /run/postgresql
  chown postgres:postgres "$DATA" /run/postgresql
  as_postgres "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  password=$(printf '%s' "$DB_PASSWORD" | sed "s/'/''/g")
  printf "CREATE ROLE \"%s\" LOGIN PASSWORD '%s';\nCREATE DATABASE \"%s\" OWNER \"%s\";\n" \
    "$DB_USER" "$password" "$DB_NAME" "$DB_USER" | as_postgres "$BIN/postgres" --single -D "$DATA" template1 >/dev/null
  echo "host all all all scram-sha-256" >> "$DATA/pg_hba.conf"  # the compose network, with the password
fi
mkdir -p /run/postgresql && chown postgres:postgres /run/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$DATA" -c listen_addresses='*'
