#!/usr/bin/env bash
# install-faiss.sh — make FAISS usable from Go (build tag `faiss`).
#
# Debian's libfaiss-dev ships FAISS as a static library (libfaiss.a) with the
# C API headers (faiss/c_api/*.h) but without the C API library that
# github.com/DataIntelligenceCrew/go-faiss links against (-lfaiss_c). This
# script:
#   1. installs libfaiss-dev, libopenblas-dev and g++ with apt-get;
#   2. downloads the Debian *source* package of the installed faiss version,
#      through a private deb-src list, private package lists and a private
#      cache (apt-get -o Dir::Etc::SourceList=... -o Dir::State::Lists=...),
#      so the system's apt configuration and lists are left untouched;
#   3. compiles its C API (c_api/*.cpp, c_api/impl/*.cpp, c_api/utils/*.cpp:
#      the FAISS_C_SRC list of upstream's c_api/CMakeLists.txt) with
#      g++ -std=c++11 -O2 -fPIC -DNDEBUG against the installed headers
#      (NDEBUG as in upstream's release build: errors are returned, not also
#      printed), and links it with /usr/lib/<multiarch>/libfaiss.a -fopenmp
#      -lblas -llapack into /usr/local/lib/libfaiss_c.so;
#   4. installs any C API header that libfaiss-dev lacks under
#      /usr/local/include/faiss/c_api, runs ldconfig and a C smoke test.
#
# Idempotent: when /usr/local/lib/libfaiss_c.so exists, was built for the
# installed faiss version (or was not built by this script) and passes the
# smoke test, nothing is rebuilt. --force rebuilds anyway.
# Takes about 40 s on a 2-core machine.
#
# Usage: scripts/install-faiss.sh [--force]
set -euo pipefail

PREFIX=/usr/local
LIB="$PREFIX/lib/libfaiss_c.so"
STAMP="$PREFIX/share/gometric/libfaiss_c.stamp"
PACKAGES=(libfaiss-dev libopenblas-dev g++)

say() { printf 'install-faiss: %s\n' "$*"; }
die() { printf 'install-faiss: error: %s\n' "$*" >&2; exit 1; }

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (usage: $0 [--force])" ;;
esac

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo available): it installs packages and writes $PREFIX"
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d "${TMPDIR:-/tmp}/install-faiss.XXXXXX")
cleanup() { "${SUDO[@]}" rm -rf "$work"; }
trap cleanup EXIT
chmod 0755 "$work"

# ---------------------------------------------------------------- packages
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get"
  if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >"$work/apt-install.log" 2>&1; then
    say "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" apt-get update >"$work/apt-update.log" 2>&1 || { cat "$work/apt-update.log" >&2; die "apt-get update failed"; }
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >"$work/apt-install.log" 2>&1 \
      || { cat "$work/apt-install.log" >&2; die "could not install ${missing[*]}"; }
  fi
else
  say "packages already installed: ${PACKAGES[*]}"
fi

src_pkg=$(dpkg-query -W -f='${source:Package}' libfaiss-dev)
src_ver=$(dpkg-query -W -f='${source:Version}' libfaiss-dev)
bin_ver=$(dpkg-query -W -f='${Version}' libfaiss-dev)
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
static_lib="/usr/lib/$multiarch/libfaiss.a"
[ -f "$static_lib" ] || die "$static_lib not found: libfaiss-dev $bin_ver does not ship the static FAISS library this script links"
stamp_text="$src_pkg $src_ver (libfaiss-dev $bin_ver, $static_lib; C API built with -O2 -DNDEBUG)"
say "libfaiss-dev $bin_ver (source package $src_pkg $src_ver)"

# ---------------------------------------------------------------- smoke test
# A tiny C program through the C API: exact search, an index_factory string,
# FAISS's k-means (faiss_kmeans_clustering and the Clustering object) and an
# error that must come back as a return code with a message.
cat >"$work/smoke.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Clustering_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>

#define CHECK(cond, what) do { if (!(cond)) { \
    fprintf(stderr, "smoke test failed: %s (%s)\n", what, faiss_get_last_error() ? faiss_get_last_error() : ""); \
    return 1; } } while (0)

int main(void) {
    enum { D = 4, N = 200 };
    float x[N * D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((i % 2) * 10) + (float)i / N + 0.5f * (float)j;

    FaissIndex* idx = NULL;
    CHECK(faiss_index_factory(&idx, D, "Flat", METRIC_L2) == 0, "index_factory Flat");
    CHECK(faiss_Index_add(idx, N, x) == 0, "add");
    CHECK(faiss_Index_ntotal(idx) == N, "ntotal");
    float dist[2];
    idx_t lab[2];
    CHECK(faiss_Index_search(idx, 1, x + 5 * D, 2, dist, lab) == 0, "search");
    CHECK(lab[0] == 5 && dist[0] == 0.0f, "nearest neighbour of a reference is itself");
    faiss_Index_free(idx);

    FaissIndexFlat* ip = NULL;
    CHECK(faiss_IndexFlat_new_with(&ip, D, METRIC_INNER_PRODUCT) == 0, "IndexFlatIP");
    faiss_Index_free((FaissIndex*)ip);

    float cent[2 * D], err = 0;
    CHECK(faiss_kmeans_clustering(D, N, 2, x, cent, &err) == 0, "faiss_kmeans_clustering");
    CHECK((cent[0] < 5) != (cent[D] < 5), "k-means separates the two groups");

    FaissClusteringParameters cp;
    faiss_ClusteringParameters_init(&cp);
    cp.niter = 5;
    FaissClustering* clus = NULL;
    FaissIndexFlat* q = NULL;
    CHECK(faiss_Clustering_new_with_params(&clus, D, 2, &cp) == 0, "Clustering_new_with_params");
    CHECK(faiss_IndexFlat_new_with(&q, D, METRIC_L2) == 0, "IndexFlatL2");
    CHECK(faiss_Clustering_train(clus, N, x, (FaissIndex*)q) == 0, "Clustering_train");
    faiss_Clustering_free(clus);
    faiss_Index_free((FaissIndex*)q);

    FaissIndex* bad = NULL;
    CHECK(faiss_index_factory(&bad, D, "NoSuchIndexType", METRIC_L2) != 0, "a bad factory string fails");
    const char* msg = faiss_get_last_error();
    CHECK(msg != NULL && strlen(msg) > 0, "FAISS reports an error message");
    printf("ok\n");
    return 0;
}
EOF

smoke() {
  gcc -std=c11 -O1 -o "$work/smoke" "$work/smoke.c" -L"$PREFIX/lib" -lfaiss_c >"$work/smoke.log" 2>&1 &&
    "$work/smoke" >>"$work/smoke.log" 2>&1 || return 1
  # A C API built without NDEBUG also prints every error it returns.
  if grep -q 'could not parse index string' "$work/smoke.log"; then
    echo "the library prints the errors it returns (C API built without -DNDEBUG)" >>"$work/smoke.log"
    return 1
  fi
}

if [ "$force" -eq 0 ] && [ -f "$LIB" ]; then
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" != "$stamp_text" ]; then
    say "$LIB was built for $(cat "$STAMP"); rebuilding for $src_pkg $src_ver"
  elif smoke; then
    say "$LIB is present and passes the smoke test: nothing to do (use --force to rebuild)"
    exit 0
  else
    say "$LIB is present but fails the smoke test; rebuilding:"
    sed 's/^/  | /' "$work/smoke.log"
  fi
fi

# ---------------------------------------------------------------- source package
# A private deb-src list derived from the system's enabled Debian/Ubuntu
# archive entries, with private package lists and cache: nothing under
# /etc/apt or /var/lib/apt is written.
apt_dir="$work/apt"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/src"
: >"$apt_dir/sources.list"

# One-line format (sources.list, *.list): deb [opts] uri suite comps...
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk '$1 == "deb" && ($0 ~ /debian/ || $0 ~ /ubuntu/) { sub(/^[ \t]*deb[ \t]/, "deb-src "); print }' "$f" >>"$apt_dir/sources.list"
done
# deb822 format (*.sources): copy every enabled stanza whose Types has deb,
# as a deb-src stanza (Signed-By and other options kept verbatim).
n822=0
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  n822=$((n822 + 1))
  awk '
    function flush() {
      if (stanza != "" && isdeb && enabled && (uris ~ /debian/ || uris ~ /ubuntu/)) print "Types: deb-src\n" stanza
      stanza = ""; isdeb = 0; enabled = 1; uris = ""
    }
    BEGIN { enabled = 1 }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    {
      if (match($0, /^[A-Za-z-]+:/)) { field = tolower(substr($0, 1, RLENGTH - 1)) }
      if (field == "types" && $0 ~ /^[Tt]ypes:/) { if ($0 ~ /(:|[ \t])deb([ \t]|$)/) isdeb = 1; next }
      if (field == "enabled" && $0 ~ /^[Ee]nabled:/) { if (tolower($2) == "no") enabled = 0 }
      if (field == "uris") uris = uris " " $0
      stanza = stanza $0 "\n"
    }
    END { flush() }
  ' "$f" >"$apt_dir/sources.list.d/$n822-$(basename "$f")"
done
if ! grep -qs . "$apt_dir/sources.list" "$apt_dir"/sources.list.d/*.sources; then
  die "found no enabled Debian or Ubuntu archive in /etc/apt/sources.list{,.d} to derive a deb-src entry from"
fi
say "private deb-src entries (derived from /etc/apt):"
cat "$apt_dir/sources.list" "$apt_dir"/sources.list.d/*.sources 2>/dev/null | grep -E '^(deb-src|URIs|Suites|Components)' | sed 's/^/  | /'

if id _apt >/dev/null 2>&1; then
  # apt downloads as the unprivileged _apt user: let it write the private dirs.
  "${SUDO[@]}" chown -R _apt "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/src"
fi
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
)
say "downloading the source index into a private list directory"
"${SUDO[@]}" apt-get "${apt_opts[@]}" update >"$work/apt-src-update.log" 2>&1 ||
  say "warning: apt-get update on the private deb-src list reported errors (continuing): $(grep -E '^(E|W):' "$work/apt-src-update.log" | head -3 | tr '\n' ' ')"
say "downloading source package $src_pkg=$src_ver"
if ! (cd "$work/src" && "${SUDO[@]}" apt-get "${apt_opts[@]}" source --download-only "$src_pkg=$src_ver") >"$work/apt-source.log" 2>&1; then
  cat "$work/apt-source.log" >&2
  die "could not download source package $src_pkg=$src_ver (is the archive reachable, and does it still carry this version?)"
fi
orig=$(ls "$work/src/${src_pkg}_"*.orig.tar.* 2>/dev/null | head -1)
[ -n "$orig" ] || die "no .orig tarball among $(ls "$work/src")"
mkdir -p "$work/tree"
tar -xf "$orig" -C "$work/tree" --strip-components=1
# Debian's patches to faiss touch neither c_api/ nor the headers used on
# amd64; the C API is compiled against the installed headers, which are the
# ones libfaiss.a was built from.
capi="$work/tree/c_api"
[ -d "$capi" ] || die "the source package has no c_api directory"

# ---------------------------------------------------------------- headers
hdr_installed=0
while IFS= read -r h; do
  rel=${h#"$capi"/}
  if [ ! -f "/usr/include/faiss/c_api/$rel" ] && [ ! -f "$PREFIX/include/faiss/c_api/$rel" ]; then
    "${SUDO[@]}" install -D -m 0644 "$h" "$PREFIX/include/faiss/c_api/$rel"
    hdr_installed=$((hdr_installed + 1))
  fi
done < <(find "$capi" -path "$capi/gpu" -prune -o -name '*.h' -print)
if [ "$hdr_installed" -gt 0 ]; then
  say "installed $hdr_installed C API headers missing from libfaiss-dev into $PREFIX/include/faiss/c_api"
else
  say "libfaiss-dev already has every C API header"
fi

# ---------------------------------------------------------------- compile and link
mapfile -t sources < <(cd "$capi" && ls ./*.cpp impl/*.cpp utils/*.cpp | sed 's|^\./||')
jobs=$(nproc 2>/dev/null || echo 2)
# -DNDEBUG as in upstream's CMake release build: without it the C API
# echoes every caught exception to stderr besides returning it.
say "compiling ${#sources[@]} C API sources with g++ -std=c++11 -O2 -fPIC -DNDEBUG ($jobs jobs)"
mkdir -p "$work/obj"
start=$(date +%s)
if ! (cd "$capi" && printf '%s\n' "${sources[@]}" |
  xargs -P "$jobs" -I{} sh -c 'o=$(echo "$1" | tr / _); exec g++ -std=c++11 -O2 -fPIC -DNDEBUG -I"$3" -c "$1" -o "$2/${o%.cpp}.o"' _ {} "$work/obj" "$PREFIX/include") \
  >"$work/compile.log" 2>&1; then
  cat "$work/compile.log" >&2
  die "compiling the FAISS C API failed"
fi
say "linking $LIB with $static_lib -fopenmp -lblas -llapack"
g++ -shared -o "$work/libfaiss_c.so" "$work"/obj/*.o "$static_lib" -fopenmp -lblas -llapack >"$work/link.log" 2>&1 ||
  { cat "$work/link.log" >&2; die "linking libfaiss_c.so failed"; }
"${SUDO[@]}" install -D -m 0755 "$work/libfaiss_c.so" "$LIB"
"${SUDO[@]}" mkdir -p "$(dirname "$STAMP")"
printf '%s\n' "$stamp_text" | "${SUDO[@]}" tee "$STAMP" >/dev/null
"${SUDO[@]}" ldconfig
say "built in $(($(date +%s) - start)) s"

# ---------------------------------------------------------------- smoke test
if smoke; then
  say "smoke test passed: $LIB ($(nm -D --defined-only "$LIB" | grep -c ' T faiss_') C API functions)"
else
  sed 's/^/  | /' "$work/smoke.log" >&2
  die "smoke test of $LIB failed"
fi
say "done: build Go code with -tags faiss (e.g. go test -tags faiss ./utils/knn)"
