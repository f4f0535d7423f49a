// URL targets: path segments and query parameters, percent-decoded.
//
// Pure functions; thread-safe. Decoding errors (a '%' not followed by two hex digits) make the
// whole parse fail so that the caller answers 400 instead of guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickring::protocol {

// At most this many query parameters / path segments are parsed; more is a 400.
inline constexpr std::size_t kMaxQueryParams = 32;
inline constexpr std::size_t kMaxPathSegments = 16;

struct parsed_target {
  std::vector<std::string> segments;  // "/v1/series/quotes/EURUSD" -> {v1, series, quotes, EURUSD}
  std::vector<std::pair<std::string, std::string>> params;

  // The last value of parameter `name`, if given.
  std::optional<std::string_view> param(std::string_view name) const;
};

// '+' in a query means space (HTML forms); in a path it stays '+'.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
std::optional<parsed_target> parse_target(std::string_view target);

// Integer nanoseconds ("1700000000000000000") or RFC 3339 ("2023-11-14T22:13:20.5Z",
// "2023-11-14T23:13:20+01:00"); nothing if neither.
std::optional<std::int64_t> parse_time(std::string_view text);
// RFC 3339 with nanoseconds, UTC: "2023-11-14T22:13:20.000000001Z".
std::string format_rfc3339(std::int64_t ns);

}  // namespace tickring::protocol
