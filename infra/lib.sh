# Shared helpers for the infra scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${CLIO_DATA_DIR:-$ROOT/.data}"
NISSHI_VERSION="0.8.1"
mkdir -p "$DATA"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or with sudo when there is one).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# Installs Debian packages that are missing.
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

nisshi_bin() {
  if [ -n "${NISSHI_BIN:-}" ]; then echo "$NISSHI_BIN"; return; fi
  if command -v nisshi >/dev/null; then command -v nisshi; return; fi
  echo "$HOME/.cargo/bin/nisshi"
}

# Waits until host:port accepts TCP connections, or fails after $3 seconds.
wait_for_port() {
  local host=$1 port=$2 seconds=${3:-30} i=0
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    i=$((i + 1)); [ "$i" -gt $((seconds * 5)) ] && return 1; sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Installs npm packages into DIR when MARKER (a file in DIR naming the pinned versions) is
# missing; no lockfile is written: versions are pinned by the caller.
#   npm_tools DIR MARKER WHAT PACKAGE...
npm_tools() {
  local dir=$1 marker=$2 what=$3; shift 3
  [ -f "$dir/$marker" ] && return 0
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing $what (npm) into $dir"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name": "clio-tools", "private": true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "$@" >&2)
  touch "$dir/$marker"
}
