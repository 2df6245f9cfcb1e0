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

# Python tools for the tests (PyPI), in a virtual environment under target/ so the system's
# Python stays as it is (Debian refuses pip installs into it). Prints the venv's bin directory.
python_tools() {
  local venv=target/test-venv
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv" 2>/dev/null || { ensure_packages python3-venv && python3 -m venv "$venv"; }
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  echo "$PWD/$venv/bin"
}
