# Sourced by .ci/serve and .ci/test (run from the repository root).
#
# ensure_venv EXTRAS: create .venv with `python -m venv` (.python-version makes
# `python` resolve to 3.12 under pyenv) and install the project into it with
# pip. pip runs only when pyproject.toml changed since the last install, so a
# second run starts at once.
ensure_venv() {
  local extras="$1"
  local python="${PYTHON:-python}"
  command -v "$python" >/dev/null 2>&1 || python=python3
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
  fi
  if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    echo ".venv has $(.venv/bin/python --version); this project needs Python 3.12 or newer." >&2
    echo "Install Python 3.12, delete .venv and run this again." >&2
    return 1
  fi
  local want stamp
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  stamp=".venv/.installed${extras}"
  # The dev install also satisfies the plain one.
  for installed in "$stamp" ".venv/.installed[dev]"; do
    if [ -f "$installed" ] && [ "$(cat "$installed")" = "$want" ]; then
      return 0
    fi
  done
  echo "Installing the project into .venv (pip install -e \".${extras}\")"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
  echo "$want" >"$stamp"
}
