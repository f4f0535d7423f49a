#include "server/static_assets.h"

#include <string>

namespace tickring::server {
namespace generated {
// Defined in the generated asset_table.cc (build dir); see server/web/embed_assets.cmake.
extern const embedded_asset asset_table[];
extern const std::size_t asset_count;
extern const char asset_version[];
}  // namespace generated

namespace {

constexpr std::string_view kAssetPrefix = "/ui/";
// A versioned asset never changes under its URL; a year is the conventional "forever".
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kRevalidate = "no-cache";

const embedded_asset* find_asset(std::string_view url) {
  for (const embedded_asset& a : static_assets())
    if (url == a.url) return &a;
  return nullptr;
}

// True when the query string holds v=<this build's version>.
bool asks_this_version(std::string_view query) {
  const std::string_view want = static_assets_version();
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() == want.size() + 2 && pair.substr(0, 2) == "v=" && pair.substr(2) == want)
      return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

std::span<const embedded_asset> static_assets() noexcept {
  return {generated::asset_table, generated::asset_count};
}

std::string_view static_assets_version() noexcept {
  return generated::asset_version;
}

std::optional<http_reply> serve_static(std::string_view target) {
  const std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (path == "/index.html") path = "/";
  if (path != "/" && !path.starts_with(kAssetPrefix)) return std::nullopt;

  const embedded_asset* a = find_asset(path);
  if (a == nullptr) return error_reply(404, "no such file: " + std::string(path));
  http_reply r;
  r.content_type = a->content_type;
  r.body.assign(reinterpret_cast<const char*>(a->data), a->size);
  const bool immutable = path != "/" && asks_this_version(query);
  r.headers.emplace_back("Cache-Control", immutable ? kImmutable : kRevalidate);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace tickring::server
