# Sourced by the scripts that build a Go program once into the cache (temporal-cli.sh,
# temporal-server.sh). `find_go NAME WHAT`: Go on PATH (the official install's /usr/local/go too),
# else NAME exits saying it cannot build WHAT.
find_go() {
  PATH="$PATH:/usr/local/go/bin"
  if ! command -v go >/dev/null 2>&1; then
    echo "$1: no Go to build $2" >&2
    exit 1
  fi
  echo "$1: building $2 with Go (a few minutes, once per machine)..." >&2
}
