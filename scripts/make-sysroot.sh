#!/usr/bin/env bash
# Builds a target sysroot for cross builds from Debian's own packages of that architecture:
# apt-get download + dpkg -x, with a private apt state (nothing on the host changes: no
# foreign architecture is added, nothing is installed).
#   scripts/make-sysroot.sh arm64|armhf [DIR]      (default DIR: build/sysroot-ARCH)
# Afterwards DIR/root is the sysroot the toolchain files use (EDGENAS_SYSROOT).
set -euo pipefail
arch="${1:-}"
case "$arch" in
  arm64) triple=aarch64-linux-gnu ;;
  armhf) triple=arm-linux-gnueabihf ;;
  *) echo "usage: make-sysroot.sh arm64|armhf [DIR]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
dir="$(realpath -m "${2:-build/sysroot-$arch}")"
root="$dir/root"

# Target libraries edgenas links (and what they need at run time under qemu).
packages=(
  libc6 libc6-dev linux-libc-dev libcrypt1 libcrypt-dev
  libgcc-s1 libgcc-12-dev libstdc++6 libstdc++-12-dev libatomic1 libgomp1 libasan8 libubsan1
  libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0 libcpuinfo-dev
  libbenchmark1debian libbenchmark-dev zlib1g zlib1g-dev libstb-dev
)
# Architecture-independent headers (and their CMake packages), so find_package stays inside
# the sysroot.
headers=(libeigen3-dev catch2 libcli11-dev)

# Complete when built from this very list (a list that grew makes it again).
wanted="${packages[*]} ${headers[*]}"
if [[ -f "$root/.complete" && "$(cat "$root/.complete")" == "$wanted" ]]; then
  echo "make-sysroot.sh: $root is complete"
  exit 0
fi
rm -rf "$root" "$dir/debs"

state="$dir/apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dir/debs" "$root"
touch "$state/status"
apt_opts=(-q -o "Dir::State=$state" -o "Dir::State::status=$state/status" -o "Dir::Cache=$state/cache"
          -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
echo "make-sysroot.sh: package lists for $arch"
# A mirror in the middle of a sync fails an index now and then: retry, then go on with the
# lists that did arrive (a package they lack fails the download below, by name).
for wait_s in 10 30 0; do
  apt-get "${apt_opts[@]}" update > "$dir/apt-update.log" 2>&1 && break
  if (( wait_s == 0 )); then
    echo "make-sysroot.sh: warning: some $arch package lists failed to download:" >&2
    grep -E "^(E|W):" "$dir/apt-update.log" >&2 || true
  else
    sleep "$wait_s"
  fi
done
echo "make-sysroot.sh: downloading ${#packages[@]} $arch packages"
if ! (cd "$dir/debs" && apt-get "${apt_opts[@]}" download "${packages[@]/%/:$arch}" "${headers[@]}" > ../apt-download.log 2>&1); then
  echo "make-sysroot.sh: downloading $arch packages failed:" >&2
  grep -E "^(E|W):" "$dir/apt-download.log" >&2 || tail -5 "$dir/apt-download.log" >&2
  exit 1
fi
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$root"; done

# Absolute symlinks (libz.so -> /lib/…) would point into the host: make them relative.
while IFS= read -r link; do
  target=$(readlink "$link")
  [[ "$target" == /* ]] || continue
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
done < <(find "$root" -type l)
# Debian keeps some libraries in /lib (usrmerge): let /usr/lib see them too.
for d in "$root/lib/$triple"/*; do
  [[ -e "$root/usr/lib/$triple/$(basename "$d")" ]] || ln -s "../../../lib/$triple/$(basename "$d")" "$root/usr/lib/$triple/"
done
echo "$wanted" > "$root/.complete"
echo "make-sysroot.sh: $root ($(du -sh "$root" | cut -f1))"
