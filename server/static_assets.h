// The chart page, embedded in the binary: GET / and GET /ui/<file>.
//
// The files come from server/web/ (the page) and server/web/node_modules (lightweight-charts,
// installed by `npm ci` from scripts/install-deps.sh); the build turns each into a byte array
// (server/web/embed_assets.cmake), so a bare binary and a container serve the same page and
// nothing is read from disk or the network at run time.
//
// Threads: every function reads immutable static data and may be called from any thread.
// Cost: a linear scan of a handful of names; no allocation but the reply's body copy.
//
// Caching: index.html is served `no-cache` (revalidated on every load, so a new build is
// picked up at once); it names each asset as /ui/<file>?v=<version>, a hash of all assets of
// this build, and an asset asked for with that version is `immutable` for a year. Asked for
// without it (or with another build's), the same bytes come back `no-cache`.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "server/http/http_types.h"

namespace tickring::server {

// One embedded file. `url` is its path ("/" for the page, "/ui/chart.js" for an asset).
struct embedded_asset {
  const char* url;
  const char* content_type;
  const unsigned char* data;
  std::size_t size;
};

// Every embedded file, in the order the build listed them.
std::span<const embedded_asset> static_assets() noexcept;

// The hash of this build's assets, as used in ?v=.
std::string_view static_assets_version() noexcept;

// The reply for `target` (a request target, query string allowed) if the page owns that path:
// "/", "/index.html" or "/ui/..."; a 404 reply for an unknown /ui/ file; nullopt for any
// other path (the caller routes it on). Replies carry Content-Type, Cache-Control and
// X-Content-Type-Options: nosniff.
std::optional<http_reply> serve_static(std::string_view target);

}  // namespace tickring::server
