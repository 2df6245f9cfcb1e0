# Sourced by scripts/*: installs missing Debian packages (as root) or says which are missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$(basename "$0"): please install: ${missing[*]}" >&2
    exit 1
  fi
  echo "$(basename "$0"): installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building the binary needs.
BUILD_PACKAGES=(gcc pkg-config libssl-dev libpcsclite-dev)
