# Shared set-up steps for scripts/run and scripts/test (sourced, not executed).

require() {
  command -v "$1" >/dev/null 2>&1 || { echo "ecitizen needs $1 ($2). Install it and try again." >&2; exit 1; }
}

setup_python() {  # $1: pip extras, e.g. "[test]"
  require python3 "Python 3.11 or newer"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "ecitizen needs Python 3.11 or newer; found $(python3 --version)" >&2; exit 1; }
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
  echo "== installing Python packages"
  python -m pip install --quiet --disable-pip-version-check --upgrade pip
  python -m pip install --quiet --disable-pip-version-check -e ".$1"
}

setup_frontend() {
  require npm "Node.js 20 or newer"
  echo "== building the front end"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
}

setup_gettext() {  # xgettext: the test that the catalogues cover every string uses it
  if command -v xgettext >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing GNU gettext"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
  else
    echo "The translation tests need GNU gettext (Debian/Ubuntu: sudo apt-get install gettext)." >&2
    exit 1
  fi
}

setup_document_libraries() {  # WeasyPrint renders issued documents with Pango and HarfBuzz
  if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then
    return
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Pango and HarfBuzz for PDF documents"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null
  else
    echo "Issued documents need Pango and HarfBuzz (Debian/Ubuntu: sudo apt-get install" >&2
    echo "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)." >&2
    exit 1
  fi
}

setup_chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Chromium at /usr/bin/chromium." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) and run this again." >&2
    exit 1
  fi
}

ecitizen_keygen() {
  python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'
}

# Run a command with the same test-only settings pytest uses (pyproject's [tool.pytest]
# env), for the steps outside pytest that import the settings (mypy's Django plugin).
ecitizen_testenv() {
  env $(python - <<'PY'
import os, tomllib
for entry in tomllib.load(open("pyproject.toml", "rb"))["tool"]["pytest"]["ini_options"]["env"]:
    name, _, value = entry.removeprefix("D:").partition("=")
    if name not in os.environ:
        print(f"{name}={value}")
PY
) "$@"
}
