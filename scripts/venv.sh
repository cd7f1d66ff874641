# Sourced by demo.sh and test.sh (not run on its own): create once, then activate, the project's virtual
# environment, so installing odcv never touches the system's or the user's Python, never upgrades unrelated
# packages, and works on distributions that refuse system-wide pip installs (PEP 668).
#   ODCV_VENV=DIR     another location (default: .venv in the repository)
#   ODCV_VENV=none    use the current interpreter as it is (you manage its packages)
#   ODCV_PYTHON=EXE   the interpreter to create the environment from (default: python3, must be >= 3.11)
odcv_venv() {
  local dir="${ODCV_VENV:-.venv}" py="${ODCV_PYTHON:-python3}"
  if [ "$dir" = "none" ]; then
    echo "using the current interpreter as is: $(command -v python3)"
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "odcv needs Python >= 3.11; $py is $("$py" --version 2>&1). Set ODCV_PYTHON to a newer one." >&2
      return 1
    fi
    echo "creating the virtual environment $dir ($("$py" --version 2>&1))"
    if ! "$py" -m venv "$dir" >/dev/null 2>&1; then
      # Debian/Ubuntu's own python3 ships without ensurepip; the python3-venv package adds it.
      rm -rf "$dir"
      local sudo=""; [ "$(id -u)" = "0" ] || sudo="sudo -n"
      echo "installing python3-venv (needed to create $dir)"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null 2>&1; } || true
      "$py" -m venv "$dir" || { echo "cannot create $dir (install python3-venv, or set ODCV_VENV=none)" >&2; return 1; }
    fi
  fi
  # shellcheck disable=SC1091
  . "$dir/bin/activate"
}
