#include "protocol/query_string.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace tickring::protocol {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::string_view> parsed_target::param(std::string_view name) const {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : params) {
    if (k == name) found = v;
  }
  return found;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<parsed_target> parse_target(std::string_view target) {
  parsed_target out;
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (path.empty() || path.front() != '/') return std::nullopt;
  path.remove_prefix(1);
  while (!path.empty()) {
    const auto slash = path.find('/');
    auto seg = percent_decode(path.substr(0, slash), false);
    if (!seg || out.segments.size() == kMaxPathSegments) return std::nullopt;
    if (!seg->empty() || slash != std::string_view::npos) out.segments.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  // A trailing slash leaves an empty last segment; "/v1/series/" means "/v1/series".
  if (!out.segments.empty() && out.segments.back().empty()) out.segments.pop_back();
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      auto k = percent_decode(pair.substr(0, eq), true);
      auto v = percent_decode(
          eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
      if (!k || !v || out.params.size() == kMaxQueryParams) return std::nullopt;
      out.params.emplace_back(std::move(*k), std::move(*v));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::int64_t> parse_time(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc() && p == s.data() + s.size()) return n;
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, sec;
  if (!read_int(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !read_int(s, 5, 2, mo) ||
      s[7] != '-' || !read_int(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_int(s, 11, 2, h) || s[13] != ':' || !read_int(s, 14, 2, mi) || s[16] != ':' ||
      !read_int(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits)
      frac *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!read_int(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !read_int(s, i + 4, 2, om)) {
      return std::nullopt;
    }
    offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  // Representable range of int64 nanoseconds: 1677-09-21T00:12:43.145224192Z ..
  // 2262-04-11T23:47:16.854775807Z, both ends included. Below zero the whole seconds alone can
  // overflow where the time does not (the lowest time is -9223372037 s + 0.145224192 s), so
  // such a time is composed from the next second down.
  constexpr std::int64_t kNsPerSecond = 1'000'000'000;
  std::int64_t ns = 0;
  if (secs < 0 && frac > 0) {
    if (__builtin_mul_overflow(secs + 1, kNsPerSecond, &ns) ||
        __builtin_sub_overflow(ns, kNsPerSecond - frac, &ns))
      return std::nullopt;
  } else if (__builtin_mul_overflow(secs, kNsPerSecond, &ns) ||
             __builtin_add_overflow(ns, frac, &ns)) {
    return std::nullopt;
  }
  return ns;
}

std::string format_rfc3339(std::int64_t ns) {
  using namespace std::chrono;
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const sys_days day{days{secs >= 0 ? secs / 86400 : (secs - 86399) / 86400}};
  const std::int64_t sod = secs - day.time_since_epoch().count() * 86400;
  const year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     sod / 3600, sod / 60 % 60, sod % 60, frac);
}

}  // namespace tickring::protocol
