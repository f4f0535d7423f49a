// The parameters every /v1/series/{measurement}/{symbol} route shares, parsed once, and the
// helpers its handlers share (routes_series.cc, routes_ticks.cc).
//
// Threads: pure functions of the request and the series' immutable field list; any thread.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/series.h"
#include "protocol/point_format.h"
#include "protocol/query_string.h"
#include "server/http/router.h"

namespace tickring::server {

inline constexpr std::size_t kDefaultLimit = 1000;
// Bounds the memory and time of one answer (~100 bytes of JSON per point: ~10 MB).
inline constexpr std::size_t kMaxLimit = 100'000;
// An error message quotes at most this much of a client's name: enough to recognise it,
// and an answer never grows with a hostile parameter.
inline constexpr std::size_t kMaxEchoedName = 64;

// 413 naming --max-answer-bytes.
http_reply too_large(std::size_t cap);

// Calls f(point) newest first from `to` until it returns false.
template <class F>
void scan(const core::series& s, core::time_ns to, F& f) {
  s.rows()->scan_backward(
      to, [](void* ctx, const core::stored_point& p) { return (*static_cast<F*>(ctx))(p); }, &f);
}

// The first bad parameter of a request; handlers stop at it and answer 400 with its text.
struct param_error {
  std::string message;
  explicit operator bool() const { return !message.empty(); }
  void set(std::string m) {
    if (message.empty()) message = std::move(m);
  }
};

struct query {
  core::time_ns from = std::numeric_limits<core::time_ns>::min();
  core::time_ns to = std::numeric_limits<core::time_ns>::max();
  std::size_t limit = kDefaultLimit;
  bool desc = false;
  bool csv = false;
  protocol::time_format epoch = protocol::time_format::ns;
  std::vector<protocol::field_column> columns;
};

// A time parameter (integer ns or RFC 3339); `dflt` when absent; sets err when bad.
core::time_ns time_param(const protocol::parsed_target& t, std::string_view name,
                         core::time_ns dflt, param_error& err);
// from, to, limit, order, format, epoch, fields (see routes_series.h).
query parse_query(const core::series& s, const protocol::parsed_target& t, param_error& err);
// Parses the common parameters; answers 400 and returns nothing on a bad one.
std::optional<query> query_or_reply(const route_args& a, const responder& respond);
// {"measurement":..,"symbol":..   (the caller continues the object)
void append_series_head(std::string& out, const core::series& s);

}  // namespace tickring::server
