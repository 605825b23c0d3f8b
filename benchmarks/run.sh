#!/usr/bin/env bash
# Build (once) an isolated venv with samljit and its peer SAML libraries, then run
# the side-by-side signature verification benchmark, or the decryption one.
#
# Usage: bash benchmarks/run.sh [verify_bench.py options, e.g. --rounds 10 --quick]
#        bash benchmarks/run.sh decrypt [decrypt_bench.py options, e.g. --quick]
#        bash benchmarks/run.sh load [load_bench.py options, e.g. --duration 10]
#        bash benchmarks/run.sh hostile [hostile_bench.py options, e.g. --smoke]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv-peers"
PY="${PYTHON:-python3}"

# One compile job at a time: the machine is small and shared.
export MAKEFLAGS="${MAKEFLAGS:--j1}"

log() { printf '[run.sh] %s\n' "$*" >&2; }

# --- hostile: samljit alone, in the project's own venv (make creates it) ----------------------
if [ "${1:-}" = "hostile" ]; then
    shift
    make -C "$ROOT" --no-print-directory .venv/bin/samljit >&2
    exec "$ROOT/.venv/bin/python" "$HERE/hostile_bench.py" "$@"
fi

# --- load: uvicorn + Redis + SQLite, in the project's own venv -----------------------------
# It needs no peers and no xmlsec: the project's .venv (make's, '--group dev') plus uvloop,
# httptools and hiredis (the server's fast paths) and yappi (the profile), and redis-server.
if [ "${1:-}" = "load" ]; then
    shift
    if ! command -v redis-server >/dev/null 2>&1; then
        log "apt-get installing redis-server"
        if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends redis-server
    fi
    LVENV="$ROOT/.venv"
    if [ ! -x "$LVENV/bin/python" ]; then
        log "creating venv $LVENV"
        "$PY" -m venv "$LVENV"
        "$LVENV/bin/python" -m pip install -q --upgrade 'pip>=25.1'
    fi
    LPY="$LVENV/bin/python"
    lpip() {
        "$LPY" -m pip install -q --disable-pip-version-check "$@" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    }
    if ! "$LPY" -c "import samljit, fastapi, uvicorn, redis, sqlalchemy" 2>/dev/null; then
        log "installing samljit and its dev group (editable) from $ROOT"
        (cd "$ROOT" && lpip -e . --group dev)
    fi
    if ! "$LPY" -c "import uvloop, httptools, hiredis, yappi" 2>/dev/null; then
        log "installing uvloop httptools hiredis yappi"
        lpip uvloop httptools hiredis yappi
    fi
    exec "$LPY" "$HERE/load_bench.py" "$@"
fi

# --- system packages -------------------------------------------------------
APT_PKGS=(libxmlsec1-dev pkg-config xmlsec1 build-essential python3-dev libxml2-dev libxslt1-dev)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt-get installing: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- venv ----------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
# --build-constraint needs pip 25.3.
if ! "$VPY" -m pip install --help 2>/dev/null | grep -q -- --build-constraint; then
    "$VPY" -m pip install -q --upgrade 'pip>=25.3' setuptools wheel
fi
# What is compiled here is pinned to releases that build on this system with what the package
# index has (the newest lxml needs a Cython the index may not have): constraints.txt for the
# packages, build-constraints.txt for their build dependencies (Cython).
PIP=("$VPY" -m pip install -q --disable-pip-version-check
     -c "$HERE/constraints.txt" --build-constraint "$HERE/build-constraints.txt")
# Drop pip's warnings about configured package locations that do not exist on this machine.
pip_install() {
    "${PIP[@]}" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

# lxml and xmlsec must both link the *system* libxml2 (python3-saml checks that
# they agree), so both are compiled from source.  Skipped once they import.
if ! "$VPY" -c "import lxml.etree, xmlsec" 2>/dev/null; then
    log "building lxml and xmlsec from source against system libxml2/libxmlsec1 (several minutes)"
    pip_install --no-binary lxml,xmlsec lxml xmlsec
fi

peers_ok=1
"$VPY" -c "import signxml, onelogin.saml2, saml2, minisaml" 2>/dev/null || peers_ok=0
if [ "$peers_ok" = 0 ]; then
    log "installing peers: signxml python3-saml pysaml2 minisaml"
    # --no-binary again so pip never swaps in a wheel of lxml/xmlsec with a bundled libxml2.
    pip_install --no-binary lxml,xmlsec signxml python3-saml pysaml2 minisaml cryptography
fi

# The project itself, editable, so the benchmark always measures the working tree.
if [ -f "$ROOT/pyproject.toml" ] || [ -f "$ROOT/setup.py" ]; then
    if ! "$VPY" -c "import samljit" >/dev/null 2>&1; then
        log "installing samljit (editable) from $ROOT"
        pip_install --no-binary lxml,xmlsec -e "$ROOT" \
            || log "WARNING: pip install -e $ROOT failed; samljit column will say unavailable"
    fi
else
    log "WARNING: no pyproject.toml in $ROOT yet; samljit column will say unavailable"
fi

SCRIPT="$HERE/verify_bench.py"
if [ "${1:-}" = "decrypt" ]; then
    SCRIPT="$HERE/decrypt_bench.py"
    shift
fi
exec "$VPY" "$SCRIPT" "$@"
