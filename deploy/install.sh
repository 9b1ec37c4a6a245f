#!/bin/bash
# Turn a Debian 12 machine into a kiosk, or upgrade one: one command, safe to run again.
#
#   sudo deploy/install.sh [--wheel dist/kiosk-X.Y.Z-py3-none-any.whl] [--wheelhouse DIR]
#   deploy/install.sh --root DIR ...     install into a mounted or throwaway root tree instead of /
#
# What it does (each step only when something is missing or different, so a second run changes
# nothing): Debian packages (cage, fonts, libraries; only on a live system), the `kiosk` user with
# only the device groups dialout, video, lp, input; the application in /opt/kiosk/venv from the
# wheel; /etc/kiosk/kiosk.toml from the example when there is none (an existing one is never
# touched); the outbox and ledger keys (0600, kiosk's, outside the data folder); the data and log
# folders; systemd units, udev rules, logind/sysctl/journald settings. An upgrade replaces only
# the application: data, keys and the site file stay as they are.
#
# Options:
#   --root DIR        target root tree (default /); no packages are installed and nothing is started
#   --wheel FILE      the application wheel (default: the newest dist/kiosk-*.whl beside deploy/)
#   --wheelhouse DIR  install dependencies from this folder only (an offline village machine)
#   --no-deps         do not install the wheel's dependencies (they are there already)
#   --no-apt          do not install Debian packages
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(dirname "$HERE")"
ROOT=/
WHEEL=""
WHEELHOUSE=""
NO_DEPS=0
NO_APT=0
PYTHON=${PYTHON:-/usr/bin/python3}  # Debian's Python: the venv must point at the one the target has
APP=/opt/kiosk
GROUPS_WANTED="dialout,video,lp,input"
# what the kiosk needs at run time: the compositor, Xwayland for the SDL window, Python's venv,
# the libraries Kivy/OpenCV/pyzbar load, Chinese fonts, CUPS client, Ghostscript, speech
RUNTIME_PACKAGES="cage xwayland python3 python3-venv libzbar0 fonts-wqy-microhei libgl1 libegl1 libgles2 \
libgl1-mesa-dri libmtdev1 libsdl2-2.0-0 cups-client libcups2 ghostscript espeak-ng udev"

die() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="$2"; shift 2 ;;
    --wheel) [ $# -ge 2 ] || die "--wheel needs a file"; WHEEL="$2"; shift 2 ;;
    --wheelhouse) [ $# -ge 2 ] || die "--wheelhouse needs a directory"; WHEELHOUSE="$2"; shift 2 ;;
    --no-deps) NO_DEPS=1; shift ;;
    --no-apt) NO_APT=1; shift ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root (sudo): it creates a user and installs system files"
[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT="$(cd "$ROOT" && pwd)"
R="${ROOT%/}"  # prefix for paths in the target ("" on a live system)
LIVE=0; [ "$ROOT" = / ] && LIVE=1
if [ -z "$WHEEL" ]; then
  WHEEL="$(ls -1 "$SOURCE"/dist/kiosk-*.whl 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$WHEEL" ] || die "no wheel given and none in $SOURCE/dist (build one with 'make dist')"
fi
[ -f "$WHEEL" ] || die "wheel not found: $WHEEL"
[ -z "$WHEELHOUSE" ] || [ -d "$WHEELHOUSE" ] || die "--wheelhouse $WHEELHOUSE is not a directory"
for f in kiosk.toml.example systemd/kiosk.service systemd/kiosk-sender.service systemd/kiosk-fleet.service \
         udev/70-kiosk-devices.rules \
         system/logind-kiosk.conf system/sysctl-kiosk.conf system/journald-kiosk.conf; do
  [ -f "$HERE/$f" ] || die "missing $HERE/$f (run from an unpacked release or a checkout)"
done

# -- helpers: change a thing only when it differs -----------------------------------------------

# put SRC DEST MODE OWNER:GROUP — copy when the content differs; fix mode and owner when they differ
put() {
  local src="$1" dest="$2" mode="$3" owner="$4"
  [ -d "$(dirname "$dest")" ] || install -d -m 0755 "$(dirname "$dest")"
  if ! cmp -s "$src" "$dest"; then
    local tmp; tmp="$(mktemp "$(dirname "$dest")/.install.XXXXXX")"
    cat "$src" > "$tmp"
    chmod "$mode" "$tmp"; chown "$owner" "$tmp"
    mv -f "$tmp" "$dest"
    say "wrote ${dest#"$R"}"
  fi
  fix "$dest" "$mode" "$owner"
}

# fix PATH MODE OWNER:GROUP — set mode and owner only when they differ
fix() {
  local path="$1" mode="$2" owner="$3"
  [ "$(stat -c %a "$path")" = "${mode#0}" ] || chmod "$mode" "$path"
  [ "$(stat -c %u:%g "$path")" = "$owner" ] || chown "$owner" "$path"
}

# dir PATH MODE OWNER:GROUP
dir() {
  [ -d "$1" ] || { install -d "$1"; say "created ${1#"$R"}"; }
  fix "$1" "$2" "$3"
}

# link TARGET NAME — a symlink, replaced only when it points elsewhere
link() {
  [ "$(readlink "$2" 2>/dev/null)" = "$1" ] && return 0
  [ -d "$(dirname "$2")" ] || install -d -m 0755 "$(dirname "$2")"
  ln -sfn "$1" "$2"
  say "linked ${2#"$R"} -> $1"
}

# -- 1. Debian packages (live systems only) --------------------------------------------------------

if [ $LIVE = 1 ] && [ $NO_APT = 0 ]; then
  missing=""
  for p in $RUNTIME_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  fi
fi

# -- 2. the kiosk user: only the device groups -----------------------------------------------------

PREFIX=(); [ $LIVE = 1 ] || PREFIX=(--prefix "$ROOT")
for f in passwd group shadow gshadow; do
  [ -f "$R/etc/$f" ] || die "$R/etc/$f is missing: --root must be a Debian root tree"
done
for g in ${GROUPS_WANTED//,/ }; do
  grep -q "^$g:" "$R/etc/group" || { groupadd "${PREFIX[@]}" --system "$g"; say "created group $g"; }
done
if ! grep -q '^kiosk:' "$R/etc/passwd"; then
  useradd "${PREFIX[@]}" --system --user-group --home-dir /var/lib/kiosk --no-create-home \
    --shell /usr/sbin/nologin --comment "self-service kiosk" --groups "$GROUPS_WANTED" kiosk
  say "created user kiosk (groups $GROUPS_WANTED)"
fi
have_groups="$(awk -F: '{ n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == "kiosk") print $1 }' \
  "$R/etc/group" | sort | paste -sd, -)"
want_groups="$(echo "$GROUPS_WANTED" | tr , '\n' | sort | paste -sd, -)"
if [ "$have_groups" != "$want_groups" ]; then
  usermod "${PREFIX[@]}" --groups "$GROUPS_WANTED" kiosk
  say "kiosk's groups set to $GROUPS_WANTED (were: ${have_groups:-none})"
fi
[ "$(awk -F: '$1 == "kiosk" { print $7 }' "$R/etc/passwd")" = /usr/sbin/nologin ] || \
  usermod "${PREFIX[@]}" --shell /usr/sbin/nologin kiosk
KUID="$(awk -F: '$1 == "kiosk" { print $3 }' "$R/etc/passwd")"
KGID="$(awk -F: '$1 == "kiosk" { print $4 }' "$R/etc/passwd")"
KIOSK="$KUID:$KGID"
ROOTS="0:0"
ROOT_KIOSK="0:$KGID"

# -- 3. the site file, and the paths it names -------------------------------------------------------

dir "$R/etc/kiosk" 0750 "$ROOT_KIOSK"
SITE="$R/etc/kiosk/kiosk.toml"
if [ ! -e "$SITE" ]; then
  put "$HERE/kiosk.toml.example" "$SITE" 0640 "$ROOT_KIOSK"
  say "edit /etc/kiosk/kiosk.toml for this site (kiosk.id, platform, devices), then check it with 'kiosk config check'"
fi
put "$HERE/kiosk.toml.example" "$R/usr/share/kiosk/kiosk.toml.example" 0644 "$ROOTS"

# paths.data_dir, log_dir and key_file as the site file sets them (defaults: the example's)
read -r DATA_DIR LOG_DIR KEY_FILE < <("$PYTHON" - "$SITE" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as fh:
        paths = tomllib.load(fh).get("paths", {})
except (OSError, tomllib.TOMLDecodeError) as exc:
    sys.exit(f"install.sh: cannot read {sys.argv[1]}: {exc}")
print(paths.get("data_dir", "/var/lib/kiosk"), paths.get("log_dir", "/var/log/kiosk"),
      paths.get("key_file", "/etc/kiosk/outbox.key"))
PY
)
case "$KEY_FILE" in "$DATA_DIR"/*) die "paths.key_file ($KEY_FILE) must be outside paths.data_dir ($DATA_DIR)";; esac

dir "$R$DATA_DIR" 0750 "$KIOSK"
dir "$R$LOG_DIR" 0750 "$KIOSK"

# the outbox key and, beside it, the ledger key: 32 random bytes, 0600, kiosk's own
KEY_DIR="$(dirname "$KEY_FILE")"
[ -d "$R$KEY_DIR" ] || dir "$R$KEY_DIR" 0750 "$ROOT_KIOSK"
for key in "$KEY_FILE" "$KEY_DIR/ledger.key"; do
  if [ ! -e "$R$key" ]; then
    tmp="$(mktemp "$R$KEY_DIR/.key.XXXXXX")"
    head -c 32 /dev/urandom > "$tmp"
    chmod 0600 "$tmp"; chown "$KIOSK" "$tmp"
    mv "$tmp" "$R$key"
    say "created key $key (0600, kiosk)"
  fi
  [ "$(stat -c %s "$R$key")" = 32 ] || die "$key is not a 32-byte key; move it aside and run again"
  fix "$R$key" 0600 "$KIOSK"
done

# -- 4. the application ------------------------------------------------------------------------------

dir "$R$APP" 0755 "$ROOTS"
VENV="$R$APP/venv"
STAMP="$R$APP/installed-wheel"
want="$(sha256sum "$WHEEL" | cut -d' ' -f1) $(basename "$WHEEL")"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    say "created ${APP}/venv"
  fi
  pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location)
  [ -z "$WHEELHOUSE" ] || pip+=(--no-index --find-links "$WHEELHOUSE")
  if [ $NO_DEPS = 1 ]; then
    "${pip[@]}" --no-deps --force-reinstall "$WHEEL"
  else
    "${pip[@]}" "$WHEEL"                                  # dependencies, when missing or too old
    "${pip[@]}" --no-deps --force-reinstall "$WHEEL"      # this build of the application itself
  fi
  if [ $LIVE = 0 ]; then
    # built under $ROOT: scripts must name /opt/kiosk/venv as the target will see it
    grep -rlI --null -F "$VENV" "$VENV/bin" "$VENV/pyvenv.cfg" | xargs -0 -r sed -i "s#$VENV#$APP/venv#g"
  fi
  install -m 0644 /dev/null "$STAMP.tmp"
  echo "$want" > "$STAMP.tmp"
  mv -f "$STAMP.tmp" "$STAMP"
  say "installed $(basename "$WHEEL") into $APP/venv"
  UPGRADED=1
else
  UPGRADED=0
fi
if [ -f "$SOURCE/README.md" ]; then put "$SOURCE/README.md" "$R$APP/README.md" 0644 "$ROOTS"; fi

# -- 5. units, udev rules, console lock-down ----------------------------------------------------------

UNITS="$R/etc/systemd/system"
put "$HERE/systemd/kiosk.service" "$UNITS/kiosk.service" 0644 "$ROOTS"
put "$HERE/systemd/kiosk-sender.service" "$UNITS/kiosk-sender.service" 0644 "$ROOTS"
put "$HERE/systemd/kiosk-fleet.service" "$UNITS/kiosk-fleet.service" 0644 "$ROOTS"
link /etc/systemd/system/kiosk.service "$UNITS/graphical.target.wants/kiosk.service"
link /etc/systemd/system/kiosk-sender.service "$UNITS/multi-user.target.wants/kiosk-sender.service"
# kiosk-fleet.service is installed, not enabled: the touch app runs the fleet agent itself, between visits.
# Enable it only on a kiosk without the touch UI (systemctl enable kiosk-fleet).
link /lib/systemd/system/graphical.target "$UNITS/default.target"
link /dev/null "$UNITS/ctrl-alt-del.target"            # Ctrl+Alt+Del does not reboot the kiosk
link /dev/null "$UNITS/getty@tty1.service"             # tty1 belongs to the kiosk UI
put "$HERE/udev/70-kiosk-devices.rules" "$R/etc/udev/rules.d/70-kiosk-devices.rules" 0644 "$ROOTS"
put "$HERE/system/logind-kiosk.conf" "$R/etc/systemd/logind.conf.d/kiosk.conf" 0644 "$ROOTS"
put "$HERE/system/sysctl-kiosk.conf" "$R/etc/sysctl.d/90-kiosk.conf" 0644 "$ROOTS"
put "$HERE/system/journald-kiosk.conf" "$R/etc/systemd/journald.conf.d/kiosk.conf" 0644 "$ROOTS"

# -- 6. on a live system: load what changed ------------------------------------------------------------

if [ $LIVE = 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  command -v udevadm >/dev/null && { udevadm control --reload; udevadm trigger --subsystem-match=tty \
    --subsystem-match=usbmisc --subsystem-match=video4linux --subsystem-match=hidraw --subsystem-match=usb; }
  sysctl -q --load /etc/sysctl.d/90-kiosk.conf || true
  if [ "$UPGRADED" = 1 ]; then
    systemctl try-restart kiosk.service kiosk-sender.service kiosk-fleet.service
  fi
fi
say "done"
