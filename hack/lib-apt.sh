# Sourced by the hack/ensure-*.sh installers: root or sudo, and apt-get with its chatter kept in a
# file that is shown only when something goes wrong. Set APT_WHO (the log prefix) before sourcing.

apt_log() { echo "[$APT_WHO] $*" >&2; }

# Checks for root or sudo ($1 names what is missing, for the message) and makes the output file.
apt_begin() {
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { apt_log "$1 is missing and installing it needs root (or sudo)"; exit 1; }
    SUDO=(sudo -E)
  fi
  APT_OUT=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
}

# Runs a command as root with its output appended to the file; returns its status.
apt_quiet() { "${SUDO[@]}" "$@" >>"$APT_OUT" 2>&1; }

# Shows apt's output and the message, and fails.
apt_fail() {
  cat "$APT_OUT" >&2
  apt_log "$*"
  exit 1
}
