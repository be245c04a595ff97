#!/usr/bin/env bash
# Installs the Debian 12 packages Yunting needs. `run`: building and running the server.
# `test`: also PostgreSQL, Chromium, Node.js/npm and the CJK font for the test suite.
set -euo pipefail
what=${1:-run}
pkgs=(pkg-config ca-certificates curl)
# ffmpeg-next (recording post-processing: remux, and the composite hearing file with
# swscale + swresample): bindgen needs libclang; the build links FFmpeg 5.1's avcodec,
# avformat, avutil, swscale and swresample (Debian's libavcodec brings libx264 and aac).
# The composite's labels are drawn with the Noto CJK font (path: YUNTING_CJK_FONT).
pkgs+=(clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev)
pkgs+=(fonts-noto-cjk)
if [ "$what" = test ]; then
  pkgs+=(postgresql chromium fonts-noto-cjk python3 ffmpeg)
  # PDF-signature oracles: pdfsig/pdftotext/pdftoppm (poppler-utils), openssl (a local
  # RFC 3161 authority), qpdf (structure check); pyHanko comes from PyPI into a venv.
  pkgs+=(poppler-utils openssl qpdf python3-venv)
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The downloaded .deb files are not needed once installed; the build needs the disk.
  $sudo apt-get clean
fi

# pyHanko (PyPI), the second independent PAdES validator, in a venv of its own (Debian's
# Python refuses system-wide pip installs).
if [ "$what" = test ]; then
  venv=${YUNTING_PYHANKO_VENV:-$HOME/.cache/yunting/pyhanko-venv}
  if [ ! -x "$venv/bin/pyhanko" ]; then
    echo "installing pyHanko into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'pyhanko==0.38.*' 'pyhanko-cli==0.6.*'
  fi
fi
