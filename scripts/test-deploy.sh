#!/usr/bin/env bash
# `npm run test:deploy`: builds the container image and runs it the way a container runtime
# would, on a machine with no Docker daemon and no container registry (docs/deploy.md):
#   1. apt packages (podman, debootstrap, systemd) when missing
#   2. the systemd unit: systemd-analyze verify and its offline security score
#   3. a local base image (scripts/deploy-base-image.sh; built once, then reused)
#   4. the image: podman build --isolation chroot, with that base; its size
#   5. the image's configuration: user, /data volume, HOST, health check, stop signal
#   6. podman image mount: the user exists and owns /data; no dev dependency is inside
#   7-12. the image's entrypoint under chroot as the image's user: the sandbox, the relay,
#      GET /healthz and the image's HEALTHCHECK, one event delivered to the sandbox, the CLI,
#      an online backup of the live SQLite store, SIGTERM ending the relay with exit code 0
# Every server listens on 127.0.0.1 (HOST is overridden for that) on a free port.
set -uo pipefail
cd "$(dirname "$0")/.."

# apt-get, podman's image store, mount and chroot all need root.
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test:deploy needs root (apt-get, podman, mount, chroot)"; exit 1; }
  exec sudo --preserve-env=PATH,NODE_EXTRA_CA_CERTS,CSB_RELAY_IMAGE bash "$0" "$@"
fi

IMAGE=${CSB_RELAY_IMAGE:-localhost/csb-relay:test}
WRITE_KEY=wk_deploy_test

step_no=0
step() { step_no=$((step_no + 1)); step_started=$(date +%s); echo; echo "== $step_no. $*"; }
ok() { echo "ok: $* ($(($(date +%s) - step_started))s)"; }
fail() { echo "FAILED: $*"; exit 1; }
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# http METHOD URL [BODY]: prints "STATUS BODY" (Basic auth with the test write key for /v1/*).
http() {
  node -e '
    const [method, url, body] = process.argv.slice(1)
    const headers = { "content-type": "application/json" }
    if (url.includes("/v1/")) headers.authorization = "Basic " + Buffer.from(process.argv[4] + ":").toString("base64")
    fetch(url, { method, headers, body: body || undefined, signal: AbortSignal.timeout(5000) })
      .then(async (r) => console.log(r.status, await r.text()), (e) => console.log(0, e.message))
  ' "$1" "$2" "${3:-}" "$WRITE_KEY"
}

work=$(mktemp -d /tmp/csb-relay-deploy.XXXXXX)
mnt=
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  if [ -n "$mnt" ]; then
    for sub in tmp dev proc data; do umount "$mnt/$sub" 2>/dev/null; done
    podman image unmount "$IMAGE" >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "apt packages: podman, debootstrap, systemd"
need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || fail "apt-get install ${need[*]}"
  ok "installed ${need[*]}"
else
  ok "present: $(podman --version), debootstrap $(dpkg-query -W -f='${Version}' debootstrap), $(systemd-analyze --version | head -1)"
fi

step "systemd unit: systemd-analyze verify deploy/csb-relay.service"
# verify exits 0 on unknown keys and bad values (it only warns), so any output is a failure.
verify_out=$(systemd-analyze verify deploy/csb-relay.service 2>&1) || fail "verify exited non-zero: $verify_out"
[ -z "$verify_out" ] || fail "verify warned: $verify_out"
exposure=$(systemd-analyze security --offline=true deploy/csb-relay.service 2>/dev/null | grep -o 'Overall exposure level.*')
ok "no warnings; $exposure"

step "local base image (Debian bookworm + Node 20 under /usr/local)"
if base=$(bash scripts/deploy-base-image.sh 2>"$work/base.log"); then
  if grep -q debootstrap "$work/base.log"; then how=built; else how="reused (built earlier)"; fi
  ok "$base $how, $(podman image inspect --format '{{.Size}}' "$base" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
else
  cat "$work/base.log"; fail "base image"
fi

step "podman build --isolation chroot --build-arg BASE_IMAGE=$base"
# --format docker: the OCI image format has no HEALTHCHECK; Docker's keeps it.
if ! podman build --isolation chroot --format docker --build-arg "BASE_IMAGE=$base" -t "$IMAGE" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"; fail "podman build"
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' "$base")
ok "$IMAGE: $(awk -v s="$size" -v b="$base_size" 'BEGIN { printf "%.0f MB (the base %.0f MB + the relay %.0f MB)", s / 1e6, b / 1e6, (s - b) / 1e6 }')"

step "image configuration"
inspect() { podman image inspect --format "$1" "$IMAGE"; }
user=$(inspect '{{.Config.User}}')
mapfile -t image_env < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | grep -v '^$')
mapfile -t entrypoint < <(inspect '{{range .Config.Entrypoint}}{{println .}}{{end}}' | grep -v '^$')
mapfile -t health < <(inspect '{{range .HealthCheck.Test}}{{println .}}{{end}}' | grep -v '^$')
workdir=$(inspect '{{.Config.WorkingDir}}')
echo "user $user; workdir $workdir; entrypoint ${entrypoint[*]}; cmd $(inspect '{{json .Config.Cmd}}')"
echo "env: $(printf '%s ' "${image_env[@]}" | grep -o 'HOST=[^ ]*\|PORT=[^ ]*\|CSB_RELAY_DB=[^ ]*\|NODE_ENV=[^ ]*' | tr '\n' ' ')"
echo "volumes: $(inspect '{{range $k, $v := .Config.Volumes}}{{$k}} {{end}}'); stop signal: $(inspect '{{.Config.StopSignal}}'); health check: ${health[*]}"
[ -n "$user" ] && [ "${user%%:*}" != root ] && [ "${user%%:*}" != 0 ] || fail "the image runs as root"
printf '%s\n' "${image_env[@]}" | grep -qx 'HOST=0.0.0.0' || fail "HOST is not 0.0.0.0"
inspect '{{range $k, $v := .Config.Volumes}}{{$k}} {{end}}' | grep -qw /data || fail "no /data volume"
[ "$(inspect '{{.Config.StopSignal}}')" = SIGTERM ] || fail "stop signal is not SIGTERM"
[ "${health[0]:-}" = CMD ] || fail "no HEALTHCHECK"
ok "non-root user, HOST=0.0.0.0, VOLUME /data, STOPSIGNAL SIGTERM, HEALTHCHECK"

step "podman image mount: the image's user and /data"
mnt=$(podman image mount "$IMAGE") || fail "podman image mount"
name=${user%%:*}
passwd_line=$(grep "^$name:" "$mnt/etc/passwd") || fail "user $name is not in the image's /etc/passwd"
uid=$(echo "$passwd_line" | cut -d: -f3); gid=$(echo "$passwd_line" | cut -d: -f4); home=$(echo "$passwd_line" | cut -d: -f6)
data_owner=$(stat -c '%u:%g %a' "$mnt/data")
[ "$data_owner" = "$uid:$gid 700" ] || fail "/data is $data_owner, expected $uid:$gid 700"
for dev_only in typescript vitest tsx fast-check; do
  [ ! -e "$mnt/app/node_modules/$dev_only" ] || fail "dev dependency $dev_only is in the image"
done
[ -f "$mnt/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ] || fail "better-sqlite3's addon is missing"
ok "$name is uid $uid gid $gid; /data is $data_owner (owner uid:gid, mode); no dev dependencies; mounted at $mnt"

# The image's root is read-only here; /data gets a fresh directory with the image's owner and
# mode (as a new volume would), /tmp a tmpfs, and /proc and /dev come from the host.
mkdir "$work/data" && chown "$uid:$gid" "$work/data" && chmod 700 "$work/data"
mount --bind "$work/data" "$mnt/data" && mount -t proc proc "$mnt/proc" \
  && mount --bind /dev "$mnt/dev" && mount -t tmpfs tmpfs "$mnt/tmp" || fail "mounts under $mnt"
# in_image ENV... -- COMMAND...: runs COMMAND in the image as its user, with the image's
# environment plus ENV, from its working directory. It ends in exec, so it replaces the shell
# that runs it: started with `&`, its PID ($!) is the command's own and a signal sent there
# reaches the relay itself; in the foreground it runs in a subshell, `( in_image ... )`.
in_image() {
  local extra=()
  while [ "$1" != -- ]; do extra+=("$1"); shift; done; shift
  exec chroot --userspec="$uid:$gid" --groups="$gid" "$mnt" /usr/bin/env -i "${image_env[@]}" HOME="$home" "${extra[@]}" \
    /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
}

step "the sandbox from the image: ${entrypoint[*]} sandbox"
sandbox_port=$(free_port)
in_image -- "${entrypoint[@]}" sandbox --host 127.0.0.1 --port "$sandbox_port" --quiet >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!; pids+=("$sandbox_pid")
for _ in $(seq 1 100); do [[ "$(http GET "http://127.0.0.1:$sandbox_port/_sandbox/health")" == 200* ]] && break; sleep 0.2; done
[[ "$(http GET "http://127.0.0.1:$sandbox_port/_sandbox/health")" == 200* ]] || { cat "$work/sandbox.log"; fail "sandbox did not answer"; }
ok "$(head -1 "$work/sandbox.log")"

mapfile -t cmd < <(inspect '{{range .Config.Cmd}}{{println .}}{{end}}' | grep -v '^$')
step "the relay from the image: ${entrypoint[*]} ${cmd[*]}"
relay_port=$(free_port)
in_image HOST=127.0.0.1 PORT="$relay_port" CSB_RELAY_WRITE_KEYS="$WRITE_KEY" \
  CSB_BASE_URL="http://127.0.0.1:$sandbox_port" CSB_API_KEY=sandbox-key -- "${entrypoint[@]}" "${cmd[@]}" >"$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")
relay=http://127.0.0.1:$relay_port
for _ in $(seq 1 150); do [[ "$(http GET "$relay/healthz")" == 200* ]] && break; sleep 0.2; done
healthz=$(http GET "$relay/healthz")
[ "$healthz" = '200 {"ok":true}' ] || { cat "$work/relay.log"; fail "GET /healthz answered: $healthz"; }
grep -m1 '^csb-relay listening' "$work/relay.log"
echo "GET /healthz: $healthz"
( in_image HOST=127.0.0.1 PORT="$relay_port" -- "${health[@]:1}" ) || fail "the image's HEALTHCHECK (${health[*]:1}) exited $?"
echo "HEALTHCHECK ${health[*]:1}: exit 0"
readyz=$(http GET "$relay/readyz")
[[ "$readyz" == 200*'"ready":true'*'"csbConfigured":true'* ]] || fail "GET /readyz answered: $readyz"
ok "GET /readyz: $readyz"

step "one event through the relay to the sandbox"
message_id="deploy-$(date +%s%N)"
event='{"userId":"deploy-user","messageId":"'$message_id'","event":"Report Exported","properties":{"account_id":"acme-deploy"}}'
accepted=$(http POST "$relay/v1/track" "$event")
[[ "$accepted" == 200* ]] || fail "POST /v1/track answered: $accepted"
echo "POST /v1/track: $accepted"
for _ in $(seq 1 150); do
  received=$(http GET "http://127.0.0.1:$sandbox_port/_sandbox/requests?path=/api/v1_1/feature")
  [[ "$received" == *'"user_id":"deploy-user"'* ]] && break; sleep 0.2
done
[[ "$received" == *'"user_id":"deploy-user"'*'"status":200'* ]] || { tail -5 "$work/relay.log"; fail "the sandbox did not receive the event: $received"; }
ok "the sandbox received: $(node -e 'const [r] = JSON.parse(process.argv[1].slice(4)); console.log(r.method, r.path, JSON.stringify(r.body), "->", r.status, JSON.stringify(r.response))' "$received")"

step "the CLI inside the image: csb-relay status"
( in_image HOST=127.0.0.1 PORT="$relay_port" -- csb-relay status ) >"$work/status.log" 2>&1 || { cat "$work/status.log"; fail "csb-relay status"; }
head -4 "$work/status.log"
ok "relay resident memory: $(awk '/^VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$relay_pid/status")"

step "online backup of the live store: node deploy/backup-sqlite.js"
( in_image -- node deploy/backup-sqlite.js /data/csb-relay.db /data/backup.db ) || fail "backup-sqlite exited $?"
( in_image -- node -e '
  const db = new (require("better-sqlite3"))("/data/backup.db", { readonly: true })
  const row = db.prepare("SELECT count(*) AS n FROM events WHERE message_id = ?").get(process.argv[1])
  console.log(`the copy holds the event: ${row.n === 1}`); process.exit(row.n === 1 ? 0 : 1)
' "$message_id" ) || fail "the event is not in the backup"
ok "backup taken while the relay runs"

step "SIGTERM ends the relay with exit code 0"
stop_started=$(date +%s%N)
kill -TERM "$relay_pid"
wait "$relay_pid"; relay_code=$?
stop_ms=$((($(date +%s%N) - stop_started) / 1000000))
tail -2 "$work/relay.log" | cut -c1-200
[ "$relay_code" = 0 ] || fail "the relay exited $relay_code after SIGTERM"
kill -TERM "$sandbox_pid"
wait "$sandbox_pid"; sandbox_code=$?
[ "$sandbox_code" = 0 ] || fail "the sandbox exited $sandbox_code after SIGTERM"
pids=()
ok "relay exit 0 in ${stop_ms} ms; sandbox exit 0"

echo
echo "deploy: all $step_no steps passed"
