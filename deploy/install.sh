#!/usr/bin/env bash
# Makes this Pi a running picam-mqtt camera by applying the release's own Ansible roles to itself
# (ansible-playbook -c local): the same roles, so the same machine state, as a remote `npm run deploy`.
# Run as root from the unpacked release (deploy/README.md, "On the Pi itself"):
#   mkdir picam && tar -xzf picam-mqtt-linux-arm64.tar.gz -C picam
#   sudo picam/install.sh --camera-id garden
# Every Pi-side step of deploy/deploy.ps1 is here, so that script stays a thin ssh/scp wrapper.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=install.sh

usage() {
  cat <<'USAGE'
Usage: sudo ./install.sh [FLAGS]

Makes this Pi a picam-mqtt camera (and its own MQTT broker unless --broker-host is given), with the release's
Ansible roles applied locally. Running it again changes nothing unless a setting changed.

  --camera-id ID          Topic level of this camera: 1-64 letters, digits, _ or -. Default: this host's name
  --broker-host HOST      Use the broker on HOST instead of running Mosquitto here (then --password-file is needed)
  --broker-port PORT      Broker port (the one Mosquitto listens on here, or HOST's). Default: 1883
  --password-file FILE    This camera's broker password (the broker's credentials/cam-<id> file); with --broker-host
  --camera-accounts IDS   Comma-separated ids of other cameras that use this Pi's broker: each gets an account cam-<id>
  --no-camera             Broker only: no agent on this Pi
  --source SOURCE         Camera: auto, rpicam, raspistill, v4l2[:DEVICE], synthetic, file:<dir-or-glob>. Default: auto
  --fps N                 Frames per second. Default: 15
  --width N, --height N   Frame size (left to the camera unless set)
  --quality N             JPEG quality 1-100 (left to the camera unless set)
  --log-level LEVEL       error, warn, info or debug. Default: info
  --no-control            Refuse remote-control requests (picam/<id>/set)
  --homeassistant         Publish Home Assistant discovery documents
  --watchdog-sec N        systemd restarts the agent after N s without a frame. Default: 15
  --restart-sec N         Wait before such a restart, s. Default: 5
  --vars FILE             A YAML file of further settings (any picam_* name of deploy/group_vars/all.yml); flags win
  --release FILE          The release tarball this folder came from. Default: the one beside this folder or in the
                          current folder whose MANIFEST.json matches
  --credentials-dir DIR   Where generated passwords are kept, root-only. Default: /var/lib/picam/credentials
  --check                 Show what would change (ansible-playbook --check --diff); change nothing but
                          installing ansible-core when it is missing
  --show-settings         Print the settings these flags give, as YAML, and exit (no root needed, nothing changed)
  -h, --help              This help

New passwords are printed once, at the end; they stay readable by root only in the credentials folder.
Exit codes: 0 done, 1 a step failed, 2 wrong usage.
USAGE
}

die_usage() { echo "$me: $1 (see --help)" >&2; exit 2; }
die() { echo "$me: $1" >&2; exit 1; }

# Settings as Ansible variables, in the order given; values are checked below, so they need no quoting in JSON
# beyond what json_string does.
declare -A vars=()
order=()
setvar() { [ -n "${vars[$1]+x}" ] || order+=("$1"); vars[$1]=$2; }
json_string() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die_usage "$1 needs a value"; }
check() { # check FLAG VALUE REGEX WHAT
  [[ $2 =~ $3 ]] || die_usage "$1 must be $4, got '$2'"
}
INT='^[0-9]{1,6}$'
ID='^[A-Za-z0-9_-]{1,64}$'
HOSTNAME_RE='^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$'

camera_id=""
broker_host=""
password_file=""
camera_accounts=""
camera=1
vars_file=""
release=""
credentials_dir=/var/lib/picam/credentials
check_mode=()
show=0

while [ $# -gt 0 ]; do
  flag=$1
  # --flag=value is accepted as --flag value.
  if [[ $flag == --*=* ]]; then set -- "${flag%%=*}" "${flag#*=}" "${@:2}"; flag=$1; fi
  case "$flag" in
    --camera-id) need_value "$@"; check "$1" "$2" "$ID" "1-64 letters, digits, _ or -"; camera_id=$2; shift 2 ;;
    --broker-host) need_value "$@"; check "$1" "$2" "$HOSTNAME_RE" "a host name or address"; broker_host=$2; shift 2 ;;
    --broker-port) need_value "$@"; check "$1" "$2" "$INT" "a port number"; (( $2 >= 1 && $2 <= 65535 )) || die_usage "--broker-port must be 1-65535, got '$2'"
      setvar picam_mosquitto_port "$2"; shift 2 ;;
    --password-file) need_value "$@"; [ -f "$2" ] || die_usage "--password-file $2 does not exist"; password_file=$2; shift 2 ;;
    --camera-accounts) need_value "$@"; check "$1" "$2" '^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64})*$' "camera ids separated by commas"
      camera_accounts=$2; shift 2 ;;
    --no-camera) camera=0; shift ;;
    --source) need_value "$@"; check "$1" "$2" '^(auto|rpicam|raspistill|synthetic|v4l2(:/[A-Za-z0-9/_.-]+)?|file:[^"\\]+)$' \
      "auto, rpicam, raspistill, v4l2[:DEVICE], synthetic or file:<dir-or-glob>"; setvar picam_agent_source "$(json_string "$2")"; shift 2 ;;
    --fps) need_value "$@"; check "$1" "$2" '^([1-9][0-9]{0,2}|0?\.[0-9]*[1-9][0-9]*|[1-9][0-9]{0,2}\.[0-9]+)$' "a number of frames per second above 0"
      setvar picam_agent_fps "$2"; shift 2 ;;
    --width|--height|--quality) need_value "$@"; check "$1" "$2" "$INT" "a whole number"; setvar "picam_agent_${1#--}" "$2"; shift 2 ;;
    --log-level) need_value "$@"; check "$1" "$2" '^(error|warn|info|debug)$' "error, warn, info or debug"; setvar picam_agent_log_level "\"$2\""; shift 2 ;;
    --no-control) setvar picam_agent_control false; shift ;;
    --homeassistant) setvar picam_agent_homeassistant true; shift ;;
    --watchdog-sec) need_value "$@"; check "$1" "$2" "$INT" "a whole number of seconds"; setvar picam_agent_watchdog_sec "$2"; shift 2 ;;
    --restart-sec) need_value "$@"; check "$1" "$2" "$INT" "a whole number of seconds"; setvar picam_agent_restart_sec "$2"; shift 2 ;;
    --vars) need_value "$@"; [ -f "$2" ] || die_usage "--vars $2 does not exist"; vars_file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --release) need_value "$@"; [ -f "$2" ] || die_usage "--release $2 does not exist"; release=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --credentials-dir) need_value "$@"; [[ $2 == /* ]] || die_usage "--credentials-dir must be an absolute path, got '$2'"; credentials_dir=$2; shift 2 ;;
    --check) check_mode=(--check --diff); shift ;;
    --show-settings) show=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown flag '$1'" ;;
  esac
done

# The camera id defaults as in the playbook: the host name's first label, other characters made '-'.
if [ -z "$camera_id" ]; then
  camera_id=$(hostname); camera_id=${camera_id%%.*}; camera_id=${camera_id//[^A-Za-z0-9_-]/-}; camera_id=${camera_id:0:64}
fi
if [ -n "$broker_host" ]; then
  [ "$camera" = 1 ] || die_usage "--no-camera and --broker-host exclude each other: a Pi without a camera is its own broker"
  [ -n "$password_file" ] || die_usage "--broker-host needs --password-file: the file credentials/cam-$camera_id from the broker's install"
  [ -z "$camera_accounts" ] || die_usage "--camera-accounts is for the Pi that runs the broker, not with --broker-host"
  setvar picam_broker_host "$(json_string "$broker_host")"
else
  [ -z "$password_file" ] || die_usage "--password-file is for a camera whose broker is elsewhere (with --broker-host)"
fi
setvar picam_camera_id "\"$camera_id\""
if [ -n "$camera_accounts" ]; then
  setvar picam_mosquitto_extra_cameras "[\"${camera_accounts//,/\",\"}\"]"
fi
setvar picam_credentials_dir "$(json_string "$credentials_dir")"

settings_yaml() {
  local name
  for name in "${order[@]}"; do printf '%s: %s\n' "$name" "${vars[$name]}"; done
}

if [ "$show" = 1 ]; then
  echo "# install.sh settings (broker: ${broker_host:-this Pi}; camera: $([ "$camera" = 1 ] && echo yes || echo no))"
  settings_yaml
  exit 0
fi

[ "$(id -u)" = 0 ] || die_usage "run as root: sudo $0 ..."

# The playbook: deploy/ beside this script in a release, this folder in a checkout.
if [ -f "$here/deploy/site.yml" ]; then deploy_dir=$here/deploy; elif [ -f "$here/site.yml" ]; then deploy_dir=$here; else
  die "no site.yml in $here/deploy: run install.sh from an unpacked release"
fi

# The release tarball: the roles install exactly that file, named by its checksum, as the remote deploy does.
if [ -z "$release" ]; then
  [ -f "$here/MANIFEST.json" ] || die_usage "no MANIFEST.json beside install.sh: pass --release FILE"
  arch=$(sed -n 's/^ *"arch": *"\([a-z0-9]*\)".*/\1/p' "$here/MANIFEST.json")
  for candidate in "$(dirname "$here")"/picam-mqtt*-linux-"$arch".tar.gz "$PWD"/picam-mqtt*-linux-"$arch".tar.gz; do
    [ -f "$candidate" ] || continue
    if tar -xzOf "$candidate" MANIFEST.json 2>/dev/null | cmp -s - "$here/MANIFEST.json"; then release=$candidate; break; fi
  done
  [ -n "$release" ] || die_usage "no picam-mqtt-*-linux-$arch.tar.gz matching this folder beside it or in $PWD: pass --release FILE"
elif [ -f "$here/MANIFEST.json" ]; then
  tar -xzOf "$release" MANIFEST.json 2>/dev/null | cmp -s - "$here/MANIFEST.json" ||
    die_usage "--release $release is not the release this install.sh came from (their MANIFEST.json differ)"
fi
setvar picam_release_tarball "$(json_string "$release")"

if ! command -v ansible-playbook >/dev/null; then
  echo "$me: ansible-core is not installed; installing it from this Pi's APT (apt-get install ansible-core)"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends ansible-core python3-apt; }
  apt_install || { apt-get update -q && apt_install; } || die "could not install ansible-core with apt-get (is the network up? try: sudo apt-get update)"
fi

umask 077
install -d -m 0700 -o root -g root "$credentials_dir"
if [ -n "$password_file" ]; then
  # The broker's password for this camera, where the playbook's password lookup finds (and keeps) it.
  tr -d '\r\n' < "$password_file" > "$credentials_dir/cam-$camera_id.new"
  [ -s "$credentials_dir/cam-$camera_id.new" ] || { rm -f "$credentials_dir/cam-$camera_id.new"; die_usage "--password-file $password_file is empty"; }
  mv "$credentials_dir/cam-$camera_id.new" "$credentials_dir/cam-$camera_id"
fi
before=$(ls -1 "$credentials_dir")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
host=$(hostname)
{
  if [ -z "$broker_host" ]; then echo "[picam_brokers]"; echo "$host"; fi
  if [ "$camera" = 1 ]; then echo "[picam_cameras]"; echo "$host"; fi
  echo "[all:vars]"
  echo "ansible_connection=local"
  echo "ansible_python_interpreter=/usr/bin/python3"
} > "$work/inventory.ini"
settings_yaml > "$work/settings.yml"

extra=()
[ -z "$vars_file" ] || extra+=(-e "@$vars_file")
extra+=(-e "@$work/settings.yml")
export ANSIBLE_CONFIG="$deploy_dir/ansible.cfg" ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_NOCOLOR=1
code=0
ansible-playbook -i "$work/inventory.ini" "$deploy_dir/site.yml" "${extra[@]}" "${check_mode[@]}" || code=$?
if [ "$code" != 0 ]; then
  die "the playbook failed (exit $code): the failed task and its message are above; fix that and run install.sh again"
fi
[ ${#check_mode[@]} = 0 ] || exit 0

new=$(comm -13 <(printf '%s\n' "$before") <(ls -1 "$credentials_dir"))
if [ -n "$new" ]; then
  echo
  echo "New broker passwords (shown this once; kept root-only in $credentials_dir):"
  for name in $new; do printf '  %-16s %s\n' "$name" "$(cat "$credentials_dir/$name")"; done
fi
if [ "$camera" = 1 ]; then
  echo "picam-agent: $(systemctl is-active picam-agent || true)"
fi
