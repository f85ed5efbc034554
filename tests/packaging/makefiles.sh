#!/bin/sh
# ctest packaging:unix-makefiles: the build also works with the Unix Makefiles generator, which,
# unlike Ninja, does not create the directories of a custom command's outputs (the completion
# scripts once failed so on a fresh tree). A full second build would cost as much as the first,
# so this configures a fresh Unix Makefiles tree and makes only the files of the packaging
# (applctl_install_files: man pages, completion scripts, changelog) with the build.make of that
# target, which leaves out the targets it depends on; the applctl it runs for the completion
# scripts is the one already built, linked where the Makefile tree would build its own.
# Usage: makefiles.sh SOURCE_DIR APPLCTL_BINARY
set -eu
src=$1 bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/applctl-makefiles-XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! cmake -S "$src" -B "$work" -G "Unix Makefiles" -DAPPLCTL_TESTS=OFF -DAPPLCTL_BENCH=OFF >"$work/configure.log" 2>&1; then
  cat "$work/configure.log"
  exit 1
fi
mkdir -p "$work/apps/applctl"
ln -s "$bin" "$work/apps/applctl/applctl"
target=packaging/CMakeFiles/applctl_install_files.dir
make -C "$work" -f "$target/build.make" "$target/build"
for f in completion/applctl.bash completion/applctl.zsh man1/applctl.1.gz doc/changelog.gz; do
  if [ ! -s "$work/packaging/$f" ]; then
    echo "makefiles.sh: packaging/$f was not made" >&2
    exit 1
  fi
done
grep -q applctl "$work/packaging/completion/applctl.bash"
echo "makefiles.sh: the packaging files build with Unix Makefiles"
