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
      reason = parse_error_reason(error_);
      return false;
    case protocol::parse_status::ok:
      break;
  }
  if (parsed_.timestamp && too_far_ahead(*parsed_.timestamp, now, max_future_skew_, reason)) {
    count_rejected(reject_reason::future_timestamp);
    return false;
  }
  if (check_accepting_ && !path_.accepting(reason)) {
    count_rejected(reject_reason::journal_unavailable);
    return false;
  }
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
  if (r.error == core::apply_error::none) return true;
  reason = describe(r, p);
  return false;
}

void line_applier::apply_batch(feed_batch& b) {
  std::string reason;
  std::size_t next_rejection = 0;
  auto reject_up_to = [&](std::size_t point_index) {
    for (;
         next_rejection < b.rejections.size() && b.rejections[next_rejection].before <= point_index;
         ++next_rejection) {
      auto& r = b.rejections[next_rejection];
      count_rejected(r.why);
      b.replies.push_back({r.line_number, std::move(r.reason)});
    }
  };
  for (std::size_t i = 0; i < b.points.size(); ++i) {
    reject_up_to(i);
    const feed_batch::point& fp = b.points[i];
    if (!path_.accepting(reason)) {
      count_rejected(reject_reason::journal_unavailable);
      b.replies.push_back({fp.line_number, std::move(reason)});
      continue;
    }
    const core::point_input p{fp.measurement, fp.symbol,
                              std::span(b.fields).subspan(fp.first_field, fp.field_count), fp.time};
    const core::apply_result r = path_.apply(p);
    if (r.error != core::apply_error::none) b.replies.push_back({fp.line_number, describe(r, p)});
  }
  reject_up_to(b.points.size());
}

std::string line_applier::describe(const core::apply_result& r, const core::point_input& p) const {
  switch (r.error) {
    case core::apply_error::too_many_series:
      return fmt::format("series limit reached ({} series): new series {}/{} rejected",
                         path_.store().limits().max_series, p.measurement, p.symbol);
    case core::apply_error::too_many_fields:
      return fmt::format("too many fields ({} > {})", p.fields.size(), core::kMaxFieldsPerSeries);
    case core::apply_error::unknown_field:
      return fmt::format("field '{}' is not a field of series {}/{}", r.field, p.measurement,
                         p.symbol);
    case core::apply_error::missing_field:
      return fmt::format("field '{}' of series {}/{} is missing", r.field, p.measurement, p.symbol);
    case core::apply_error::field_type_conflict: {
      const auto* s = r.target;
      const int idx = s->field_index(r.field);
      return fmt::format("field type conflict: '{}' is {} in series {}/{}", r.field,
                         core::to_string(s->fields()[static_cast<std::size_t>(idx)].kind),
                         p.measurement, p.symbol);
    }
    case core::apply_error::none:
      break;
  }
  return {};
}

}  // namespace tickring::server
