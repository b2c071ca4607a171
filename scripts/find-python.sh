#!/bin/sh
# Print the path of a Python >= 3.12 on this machine: PATH first, then pyenv's versions.
# 3.12 is preferred (the version the project is measured on), then the next newer one.
# Exits 1 with a clear message when there is none.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

for name in python3.12 python3.13 python3.14 python3 python; do
    p=$(command -v "$name" 2>/dev/null) && ok "$p" && { echo "$p"; exit 0; }
done
root=${PYENV_ROOT:-}
[ -z "$root" ] && command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null)
[ -z "$root" ] && root="$HOME/.pyenv"
for p in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V); do
    ok "$p/bin/python3" && { echo "$p/bin/python3"; exit 0; }
done
echo "No Python >= 3.12 found (looked on PATH and in pyenv's versions under $root)." >&2
echo "Install one, e.g. 'pyenv install 3.12' or your distribution's python3.12, then retry." >&2
exit 1
