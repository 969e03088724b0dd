#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain what to install and exit 1.
# Order: $PYTHON if set, then python3.12/3.13/3/python on PATH, then pyenv's installed versions,
# then conda/uv interpreters. A pyenv shim that refuses to run (no version selected) is skipped.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
try() { if [ -n "$1" ] && [ -x "$(command -v "$1" 2>/dev/null)" ] && ok "$1"; then command -v "$1"; exit 0; fi; }

try "${PYTHON:-}"
for name in python3.12 python3.13 python3.14 python3 python; do try "$name"; done

roots=()
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root 2>/dev/null)/versions")
roots+=("${PYENV_ROOT:-$HOME/.pyenv}/versions" "$HOME/.local/share/uv/python" "${CONDA_PREFIX:-/nonexistent}/bin" "/opt/conda/bin")
for root in "${roots[@]}"; do
  [ -d "$root" ] || continue
  # Prefer 3.12 (the lock file was made with it), then newer versions.
  for cand in $(ls -d "$root"/3.12*/bin/python3 "$root"/cpython-3.12*/bin/python3 "$root"/python3.12 \
                     "$root"/3.1[3-9]*/bin/python3 "$root"/cpython-3.1[3-9]*/bin/python3 2>/dev/null); do
    try "$cand"
  done
done

cat >&2 <<'MSG'
No Python 3.12 or newer was found (looked at $PYTHON, PATH, pyenv, uv and conda).
Install one, for example:
  pyenv install 3.12        (then re-run make; no need to select it globally)
  or: apt-get install python3.12 python3.12-venv
  or: uv python install 3.12
and re-run, or point PYTHON=/path/to/python3.12 at it.
MSG
exit 1
