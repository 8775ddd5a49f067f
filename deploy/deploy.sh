#!/usr/bin/env bash
# Deploys picam-mqtt to every Pi in an inventory: builds the release for the Pis' CPU(s), then runs the
# playbook. Usage:
#   deploy/deploy.sh -i deploy/inventory.ini [--arch arm64[,armhf]] [--check] [--skip-build] [-- ansible-playbook args]
#   npm run deploy -- -i deploy/inventory.ini --check
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

usage() {
  cat <<'USAGE'
Usage: deploy/deploy.sh -i INVENTORY [--arch LIST] [--check] [--skip-build] [-- ANSIBLE-PLAYBOOK-ARGS...]

  -i, --inventory FILE   Ansible inventory listing the Pis (start from deploy/inventory.example.ini)
  --arch LIST            Release architectures to build, comma-separated: arm64 (64-bit Raspberry Pi OS),
                         armhf (32-bit, ARMv7), x64. Default: arm64
  --check                Show what would change (ansible-playbook --check --diff); changes nothing on the Pis
  --skip-build           Use the release tarballs already in release/
  -h, --help             This help

Exit codes: 0 deployed, 1 a step failed, 2 wrong usage.
USAGE
}

die_usage() { echo "deploy.sh: $1 (see --help)" >&2; exit 2; }

inventory=""
arches="arm64"
check=()
build=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -i|--inventory) [ $# -ge 2 ] || die_usage "$1 needs a file"; inventory=$2; shift 2 ;;
    --inventory=*) inventory=${1#*=}; shift ;;
    --arch) [ $# -ge 2 ] || die_usage "--arch needs a list such as arm64,armhf"; arches=$2; shift 2 ;;
    --arch=*) arches=${1#*=}; shift ;;
    --check) check=(--check --diff); shift ;;
    --skip-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die_usage "unknown argument $1" ;;
  esac
done

[ -n "$inventory" ] || die_usage "no inventory: pass -i deploy/inventory.ini (copy deploy/inventory.example.ini)"
[ -f "$inventory" ] || die_usage "inventory $inventory does not exist: copy deploy/inventory.example.ini and list your Pis"
command -v ansible-playbook >/dev/null || { echo "deploy.sh: ansible-playbook not found: install Ansible (Debian: apt-get install ansible)" >&2; exit 1; }

if [ "$build" = 1 ]; then
  if ! (cd "$repo" && node -e 'process.exit(require("./package.json").scripts?.release ? 0 : 1)'); then
    echo "deploy.sh: this checkout has no 'npm run release' yet; build release/picam-mqtt-linux-<arch>.tar.gz yourself and pass --skip-build" >&2
    exit 1
  fi
  for arch in ${arches//,/ }; do
    echo "deploy.sh: building the $arch release"
    (cd "$repo" && npm run --silent release -- --arch "$arch")
  done
fi

export ANSIBLE_CONFIG="$here/ansible.cfg"
exec ansible-playbook -i "$inventory" "$here/site.yml" "${check[@]}" "${extra[@]}"
