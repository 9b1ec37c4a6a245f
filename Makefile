# make setup — install system packages (when missing), create .venv, install the project + test extras
# make run   — start the kiosk (demo profile when nothing is configured)
# make test  — the whole suite, headless under Xvfb
# make bench — the benchmarks in bench/
# make dist  — the application wheel and a release tarball for deploy/install.sh, in dist/

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# xvfb/xauth: headless display for UI tests and screenshots; libzbar0: pyzbar; fonts-wqy-microhei: Chinese
# glyphs; libgl1/libegl1/libgles2/libmtdev1/libsdl2-2.0-0: what Kivy's SDL2 window and touch input load.
# postgresql: the backend tests also run against a real PostgreSQL server on loopback.
# cage/systemd: the installer test runs systemd-analyze verify on the units (cage is the UI unit's compositor).
# cups-daemon/cups-client/printer-driver-cups-pdf/ghostscript: certificate printing is tested on a private
# cupsd with a virtual PDF printer; libcups2-dev builds pycups; espeak-ng speaks prompts (optional at run time).
# mosquitto: the fleet's notice broker; tests start their own on a free loopback port.
# imagemagick: its import reads what the running app shows on the X server (kiosk screenshot is compared with it).
APT_PACKAGES := xvfb xauth libzbar0 fonts-wqy-microhei libgl1 libegl1 libgles2 libgl1-mesa-dri libmtdev1 libsdl2-2.0-0 fontconfig postgresql \
	cups-daemon cups-client printer-driver-cups-pdf ghostscript libcups2-dev espeak-ng \
	mosquitto cage systemd chromium \
	imagemagick
XVFB_RUN := xvfb-run -a -s "-screen 0 1920x1920x24 -nolisten tcp"

.PHONY: setup system-packages run test bench screenshots clean dist

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(BIN)/kiosk run; \
	else \
	  echo "no display found: running under Xvfb (see it with 'kiosk screenshot', or set DISPLAY)"; \
	  $(XVFB_RUN) $(BIN)/kiosk run; \
	fi

test: setup
	$(XVFB_RUN) $(BIN)/pytest -q

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(XVFB_RUN) $(BIN)/python $$b || exit 1; done

screenshots: setup
	@mkdir -p screenshots
	@for s in attract home guide guide-detail idle not-ready identify card-alert progress rating help; do \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s --out screenshots/$$s.png && \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s --elderly --out screenshots/$$s-elderly.png; \
	done
	@for s in service-pin service; do \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s --out screenshots/$$s.png && \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s --size 1920x1080 --out screenshots/$$s-landscape.png; \
	done
	@for s in submit-licences submit-phone submit-contact address address-house address-pickup; do for e in "" --elderly; do \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s $$e --out screenshots/$$s$$e.png && \
	  $(XVFB_RUN) $(BIN)/kiosk screenshot --screen $$s $$e --size 1920x1080 --out screenshots/$$s$$e-landscape.png; \
	done; done

VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

# the wheel deploy/install.sh installs into /opt/kiosk/venv, and kiosk-VERSION.tar.gz: deploy/ + the
# wheel, what a technician carries to a village machine (unpack, then sudo deploy/install.sh)
dist: setup
	@rm -f dist/kiosk-*.whl
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .
	@rm -rf build
	tar -czf dist/kiosk-$(VERSION).tar.gz --transform 's,^kiosk-$(VERSION)-py3,dist/kiosk-$(VERSION)-py3,' \
	  --transform 's,^,kiosk-$(VERSION)/,' deploy README.md -C dist kiosk-$(VERSION)-py3-none-any.whl
	@echo "dist/kiosk-$(VERSION)-py3-none-any.whl dist/kiosk-$(VERSION).tar.gz"

clean:
	rm -rf $(VENV) .pytest_cache screenshots dist
