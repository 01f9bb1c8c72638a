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

# Debian 12's belenios-tool 2.0: the voting tests prove that ecitizen's election archives
# are Belenios archives with Belenios' own verifier (docs/adr/0020).
setup_belenios_tool() {
  if command -v belenios-tool >/dev/null 2>&1; then
    case "$(belenios-tool --version)" in
      2.0*) return ;;
      *) echo "The voting tests need belenios-tool 2.0; found $(belenios-tool --version)." >&2; exit 1 ;;
    esac
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's belenios-tool for the voting tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq belenios-tool >/dev/null
  else
    echo "The voting tests need belenios-tool 2.0 (Debian 12: sudo apt-get install belenios-tool)." >&2
    exit 1
  fi
}

# Debian's HAProxy and Prometheus' promtool: the operations tests run the shipped
# deploy/haproxy/haproxy.cfg in front of several web processes, and check and unit-test
# deploy/prometheus/alerts.yml (tests/operations).
setup_operations_tools() {
  local missing=""
  command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
  command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
  if [ -z "$missing" ]; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's$missing for the operations tests"
    # shellcheck disable=SC2086 # the package names are meant to be split
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends $missing >/dev/null
  else
    echo "The operations tests need:$missing (Debian/Ubuntu: sudo apt-get install$missing)." >&2
    exit 1
  fi
}

ecitizen_keygen() {
  python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'
}

# Write the demo's settings to $1 (scripts/run uses var/dev.env), or complete a file made
# by an older version: each setting is added only when the file does not have it yet, so
# the keys generated the first time are kept (the database is encrypted with them).
# The demo runs with production's settings (DEBUG off, compressed static files, styled
# error pages, the real Content Security Policy) plus what a demo on this machine needs:
# plain http on 127.0.0.1 (no https redirect, no secure-only cookies), and the sandbox
# payments, the demo signing certificate and the text-message outbox, which production
# refuses unless they are allowed explicitly, as they are here; every page says it is a
# demonstration (DEMO_BANNER) and that payments are not real.
ecitizen_demo_env() {
  local file="$1"
  [ -f "$file" ] || { echo "Creating the demo's settings in $file"; : > "$file"; }
  chmod 600 "$file"
  # A file made when the demo ran in development mode: switch it to production's mode.
  if ! grep -q '^DEMO_BANNER=' "$file"; then
    sed -i.bak -e 's/^DEBUG=.*/DEBUG=false/' "$file" && rm -f "$file.bak"
  fi
  _demo_setting() { grep -q "^$1=" "$file" || printf '%s=%s\n' "$1" "$2" >> "$file"; }
  _demo_setting DEBUG false
  _demo_setting ALLOWED_HOSTS 127.0.0.1,localhost
  # localhost, not 127.0.0.1: browsers allow passkeys (WebAuthn) on plain http only for
  # localhost, and an IP address cannot be a passkey's relying party.
  _demo_setting PUBLIC_BASE_URL http://localhost:8000
  _demo_setting SECRET_KEY "$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
  _demo_setting FIELD_ENCRYPTION_KEYS "dev1:$(ecitizen_keygen)"
  _demo_setting BLIND_INDEX_KEY "$(ecitizen_keygen)"
  # 32 random bytes are an Ed25519 private key: the audit trail's checkpoints are signed.
  _demo_setting AUDIT_SIGNING_KEYS "dev1:$(ecitizen_keygen)"
  _demo_setting SECURE_SSL_REDIRECT false
  _demo_setting SESSION_COOKIE_SECURE false
  _demo_setting CSRF_COOKIE_SECURE false
  _demo_setting SECURE_HSTS_SECONDS 0
  _demo_setting DEMO_BANNER true
  _demo_setting PAYMENT_PROVIDER sandbox
  _demo_setting PAYMENTS_SANDBOX_IN_PRODUCTION true
  _demo_setting PAYMENTS_SANDBOX_WEBHOOK_SECRET "$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
  _demo_setting DOCUMENT_SIGNING_DEMO_IN_PRODUCTION true
  _demo_setting SMS_BACKEND ecitizen.notifications.sms.OutboxSmsBackend
  _demo_setting SMS_OUTBOX_IN_PRODUCTION true
  # Emails (verification links, password resets) are printed by the worker.
  _demo_setting EMAIL_DELIVERY_BACKEND django.core.mail.backends.console.EmailBackend
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
