#include "server/ingest/line_applier.h"

#include <fmt/format.h>

#include "protocol/partition.h"
#include "protocol/point_input.h"

namespace tickring::server {

std::string_view to_string(reject_reason r) noexcept {
  switch (r) {
    case reject_reason::parse_error:
      return "parse_error";
    case reject_reason::too_many_series:
      return "too_many_series";
    case reject_reason::too_many_fields:
      return "too_many_fields";
    case reject_reason::unknown_field:
      return "unknown_field";
    case reject_reason::missing_field:
      return "missing_field";
    case reject_reason::field_type_conflict:
      return "field_type_conflict";
    case reject_reason::line_too_long:
      return "line_too_long";
    case reject_reason::future_timestamp:
      return "future_timestamp";
    case reject_reason::journal_unavailable:
      return "journal_unavailable";
    case reject_reason::misrouted:
      return "misrouted";
    case reject_reason::count_:
      break;
  }
  return "unknown";
}

line_applier::line_applier(write_path& path) : path_(path) {}

void line_applier::count_rejected(reject_reason r) {
  path_.count_rejected(r);
}

bool line_applier::apply(std::string_view line, std::size_t line_number, core::time_ns now,
                         std::string& reason) {
  switch (parser_.parse(line, line_number, parsed_, error_)) {
    case protocol::parse_status::skip:
      return true;
    case protocol::parse_status::error:
      count_rejected(reject_reason::parse_error);
      reason = fmt::format("byte {}: {}", error_.offset, error_.reason);
      return false;
    case protocol::parse_status::ok:
      break;
  }
  if (max_future_skew_ > 0 && parsed_.timestamp && *parsed_.timestamp > now &&
      *parsed_.timestamp - now > max_future_skew_) {
    count_rejected(reject_reason::future_timestamp);
    reason = fmt::format(
        "timestamp {} is more than {} s ahead of the server's clock (--max-future-skew); with "
        "--retention it would evict every later point",
        *parsed_.timestamp, max_future_skew_ / 1'000'000'000);
    return false;
  }
  if (check_accepting_ && !path_.accepting(reason)) {
    count_rejected(reject_reason::journal_unavailable);
    return false;
  }
  const std::size_t n = parsed_.fields.size();
  const core::point_input p = protocol::to_point_input(parsed_, fields_, now);
  if (partitions_ != 0) {
    const std::uint32_t belongs = protocol::partition_of(p.measurement, p.symbol, partitions_);
    if (belongs != partition_) {
      count_rejected(reject_reason::misrouted);
      reason = fmt::format("series {}/{} belongs to partition {}, not {} (a misrouted message)",
                           p.measurement, p.symbol, belongs, partition_);
      return false;
    }
  }
  const core::apply_result r = path_.apply(p);
  if (r.error != core::apply_error::none) {
    switch (r.error) {
      case core::apply_error::too_many_series:
        reason = fmt::format("series limit reached ({} series): new series {}/{} rejected",
                             path_.store().limits().max_series, p.measurement, p.symbol);
        break;
      case core::apply_error::too_many_fields:
        reason = fmt::format("too many fields ({} > {})", n, core::kMaxFieldsPerSeries);
        break;
      case core::apply_error::unknown_field:
        reason = fmt::format("field '{}' is not a field of series {}/{}", r.field, p.measurement,
                             p.symbol);
        break;
      case core::apply_error::missing_field:
        reason =
            fmt::format("field '{}' of series {}/{} is missing", r.field, p.measurement, p.symbol);
        break;
      case core::apply_error::field_type_conflict: {
        const auto* s = r.target;
        const int idx = s->field_index(r.field);
        reason = fmt::format("field type conflict: '{}' is {} in series {}/{}", r.field,
                             core::to_string(s->fields()[static_cast<std::size_t>(idx)].kind),
                             p.measurement, p.symbol);
        break;
      }
      case core::apply_error::none:
        break;
    }
    return false;
  }
  return true;
}

}  // namespace tickring::server
