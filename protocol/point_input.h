// A parsed line-protocol line as the store's input: the one conversion from protocol types to
// core types, used by the ingest path and by the benchmarks that measure it.
//
// Pure and thread-safe. The result views the parsed line's names (and the caller's scratch
// for the converted fields): valid while both live. Cost: O(fields), no allocation.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

#include "core/series_store.h"
#include "protocol/line_protocol.h"

namespace tickring::protocol {

inline core::field_input to_field_input(const field& f) {
  switch (f.value.type) {
    case field_type::float64:
      return {f.name, core::field_kind::float64, std::bit_cast<std::uint64_t>(f.value.f)};
    case field_type::int64:
      return {f.name, core::field_kind::int64, static_cast<std::uint64_t>(f.value.i)};
    case field_type::uint64:
      return {f.name, core::field_kind::uint64, f.value.u};
    case field_type::boolean:
      return {f.name, core::field_kind::boolean, f.value.b ? 1U : 0U};
  }
  return {f.name, core::field_kind::float64, 0};
}

// REQUIRES: scratch.size() >= line.fields.size(). A line without a timestamp gets `now`.
inline core::point_input to_point_input(const parsed_line& line,
                                        std::span<core::field_input> scratch, core::time_ns now) {
  const std::size_t n = line.fields.size();
  for (std::size_t i = 0; i < n; ++i)
    scratch[i] = to_field_input(line.fields[i]);
  return {line.measurement, line.symbol, scratch.first(n), line.timestamp.value_or(now)};
}

}  // namespace tickring::protocol
