#!/usr/bin/env bash
# Prints the path of the Chromium the browser tests drive (playwright-core downloads no browser):
# CHROMIUM_PATH when set, else Debian's /usr/bin/chromium, installed with apt-get when missing and
# we are root, with a CJK font so that screenshots of Chinese pages show characters, not boxes.
# `apt-get update` runs only when the install fails without it: it is slow, and the package lists
# are usually there. Exits non-zero, saying what to do, when there is no Chromium to print.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ]; then
    echo "$CHROMIUM_PATH"
    exit 0
  fi
  echo "chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
  exit 1
fi
chromium=/usr/bin/chromium
cjk_font=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -f "$cjk_font" ] || missing+=(fonts-wqy-zenhei)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "$chromium"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  if [ -x "$chromium" ]; then
    # The font only makes screenshots readable: the tests read the page's text, not its pixels.
    echo "chromium: no CJK font ($cjk_font); screenshots show Chinese as boxes" >&2
    echo "$chromium"
    exit 0
  fi
  echo "chromium: $chromium is missing and only root with apt-get can install it here; run" \
    "'sudo apt-get install -y chromium fonts-wqy-zenhei' or set CHROMIUM_PATH to a Chromium" >&2
  exit 1
fi
echo "chromium: installing ${missing[*]} with apt-get (once per machine)..." >&2
export DEBIAN_FRONTEND=noninteractive
# chromium recommends only chromium-sandbox, which the tests do without (--no-sandbox).
apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
if ! apt_install 2>/dev/null; then
  apt-get update -qq >/dev/null
  apt_install
fi
if [ ! -x "$chromium" ]; then
  echo "chromium: apt-get installed chromium but $chromium is not there" >&2
  exit 1
fi
echo "$chromium"
