# Sourced by .ci/serve and .ci/test (run from the repository root).
#
# ensure_venv EXTRAS: create .venv with `python -m venv` (.python-version makes
# `python` resolve to 3.12 under pyenv) and install the locked dependencies
# into it: .ci/requirements.lock for "" (the app), .ci/requirements-dev.lock for
# "[dev]" (the app and the dev tools), exact versions checked against their
# hashes, so a new release on the index cannot change what runs. (The project
# itself is not installed: pyproject.toml declares no packages; manage.py and
# pytest run from the repository.) pip runs only when the lock file changed
# since the last install, so a second run starts at once. `bash .ci/lock`
# re-compiles the lock files from pyproject.toml.
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
  local lock=".ci/requirements.lock"
  if [ "$extras" = "[dev]" ]; then lock=".ci/requirements-dev.lock"; fi
  local want stamp installed
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  stamp=".venv/.installed${extras}"
  # The dev install also satisfies the plain one.
  for installed in "$stamp" ".venv/.installed[dev]"; do
    if [ -f "$installed" ] && grep -qx "$want" "$installed"; then
      return 0
    fi
  done
  echo "Installing the locked dependencies into .venv (pip install --require-hashes -r $lock)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  # Both hashes: the dev lock pins the plain lock's packages at the same versions.
  if [ "$extras" = "[dev]" ]; then
    sha256sum .ci/requirements.lock .ci/requirements-dev.lock | cut -d' ' -f1 >"$stamp"
  else
    echo "$want" >"$stamp"
  fi
}
