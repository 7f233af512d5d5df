#!/usr/bin/env bash
# A cluster of the platform on this host: N silo processes on loopback sharing one PostgreSQL.
#
#   deploy/cluster.sh                          # 3 silos on a throwaway PostgreSQL of their own
#   deploy/cluster.sh -n 2 "Host=db;Port=5432;Username=dp;Password=...;Database=digitalpost"
#   DIGITALPOST_PG="Host=..." deploy/cluster.sh -- --environment Demo   # switches after -- go to every silo
#
# Silo i (from 0) serves HTTP on 5000+i, talks to the other silos on 11111+i and to clients on 30000+i
# (bases: HTTP_PORT, SILO_PORT, GATEWAY_PORT). Ctrl-C stops every silo, and the throwaway PostgreSQL with its files.
# The Orleans ports use mutual TLS: with TLS_DIR naming a folder holding ca.pem and silo.pfx (password in
# TLS_PASSWORD), those; otherwise a throwaway CA and silo certificate made with openssl, and a client certificate for
# other services (client.pfx) beside them in the work folder.
set -euo pipefail

silos=3
connection="${DIGITALPOST_PG:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--silos) silos="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    --) shift; break ;;
    *) connection="$1"; shift ;;
  esac
done
http_base="${HTTP_PORT:-5000}" silo_base="${SILO_PORT:-11111}" gateway_base="${GATEWAY_PORT:-30000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/digitalpost-cluster.XXXXXX")"
pids=()
pg_bin=""

stop() {
  echo "stopping ${#pids[@]} silos"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_bin" ]; then as_pg "$pg_bin/pg_ctl" stop -m fast -D "$work/pg" >/dev/null || true; fi
  rm -rf "$work"
}
trap stop EXIT
# Background silos of a script ignore SIGINT, so Ctrl-C reaches only the script: it stops them with SIGTERM.
trap 'exit 130' INT TERM

# initdb refuses to run as root: there the throwaway server belongs to an unprivileged user.
# It runs from the work folder, which it can read (the caller's folder may be /root).
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd "$work" && runuser -u "${PG_USER:-nobody}" -- "$@"); else "$@"; fi; }

free_port() {
  local port=$1
  while (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

if [ -z "$connection" ]; then
  pg_bin="$(dirname "$(command -v initdb || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)")"
  [ -x "$pg_bin/pg_ctl" ] || { echo "no connection string given and no PostgreSQL server binaries (initdb, pg_ctl) found" >&2; exit 1; }
  [ "$(id -u)" -ne 0 ] || chown "${PG_USER:-nobody}" "$work"
  port="$(free_port 55432)"
  as_pg "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  as_pg "$pg_bin/pg_ctl" start -w -D "$work/pg" -l "$work/pg/server.log" \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1" >/dev/null
  connection="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  echo "throwaway PostgreSQL on 127.0.0.1:$port (data in $work/pg, removed on exit)"
fi

tls="${TLS_DIR:-}" tls_password="${TLS_PASSWORD:-}"
if [ -z "$tls" ]; then
  # A CA for this cluster alone: trust in the cluster is "issued by this CA".
  tls="$work/tls" tls_password="$(openssl rand -hex 16)"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=digitalpost cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  for name in silo client; do
    # A silo's certificate serves both ends of a connection; a client's only its own.
    usage=$([ "$name" = silo ] && echo "serverAuth,clientAuth" || echo "clientAuth")
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=digitalpost $name" \
      -keyout "$tls/$name.key" -out "$tls/$name.csr" 2>/dev/null
    openssl x509 -req -in "$tls/$name.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
      -extfile <(printf "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n" "$usage") \
      -out "$tls/$name.pem" 2>/dev/null
    openssl pkcs12 -export -in "$tls/$name.pem" -inkey "$tls/$name.key" -passout "pass:$tls_password" -out "$tls/$name.pfx"
  done
  echo "throwaway CA and certificates in $tls (client.pfx for other services, password $tls_password)"
fi

echo "building the silo (Release)"
dotnet build -c Release "$repo/silo" -nologo -v quiet >"$work/build.log" || { cat "$work/build.log"; exit 1; }
bin="$repo/silo/bin/Release/net10.0"

for ((i = 0; i < silos; i++)); do
  mkdir -p "$work/silo-$i"
  # Run from the build folder: it holds appsettings.json, and relative paths in it resolve from there.
  (cd "$bin" && exec dotnet DigitalPost.Silo.dll --urls "http://127.0.0.1:$((http_base + i))" \
    --Orleans:SiloPort "$((silo_base + i))" --Orleans:GatewayPort "$((gateway_base + i))" \
    --Storage:Provider PostgreSQL --Storage:ConnectionString "$connection" \
    --Orleans:Tls:CertificateFile "$tls/silo.pfx" --Orleans:Tls:CertificatePassword "$tls_password" --Orleans:Tls:CaFile "$tls/ca.pem" \
    --Smtp:PickupDirectory "$work/silo-$i/mail" "$@") >"$work/silo-$i/log" 2>&1 &
  pids+=("$!")
  echo "silo $i: http://127.0.0.1:$((http_base + i))  (health /health, dashboard /dashboard/, log $work/silo-$i/log)"
done
echo "Ctrl-C stops the cluster"

# A silo ending on its own (a port in use, a bad setting) is reported; the others keep serving.
declare -A ended=()
while [ "${#ended[@]}" -lt "${#pids[@]}" ]; do
  wait -n || true
  for i in "${!pids[@]}"; do
    if [ -z "${ended[$i]:-}" ] && ! kill -0 "${pids[$i]}" 2>/dev/null; then
      ended[$i]=1
      echo "silo $i exited; the end of its log:"
      tail -n 20 "$work/silo-$i/log"
    fi
  done
done
