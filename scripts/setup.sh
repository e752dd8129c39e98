#!/usr/bin/env bash
# Installs what PackBench needs to build, run and test on Debian 12. Idempotent: a second run
# installs nothing and takes a second. Sourced by run.sh and test.sh; can be run on its own.
set -euo pipefail

APT_PACKAGES=(
  build-essential pkg-config            # C toolchain for -sys crates (SQLite is bundled)
  libwebkit2gtk-4.1-dev                 # Tauri 2 / WebKitGTK
  libudev-dev                           # serialport: port enumeration and hot-plug
  libusb-1.0-0-dev                      # rusb: HID-POS scales/scanners, USB printers
  xvfb xauth webkit2gtk-driver          # the app's end-to-end tests in a real window
  imagemagick                           # e2e screenshots of the X screen (`import`)
  poppler-utils zbar-tools dmtx-utils   # label tests: pdftoppm/pdffonts, zbarimg, dmtxread
  fonts-wqy-microhei fonts-noto-cjk     # CJK fonts: label PDFs/bitmaps and the UI
  cups-client                           # `lp` for printing PDFs through the spooler
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done
