#include "server/ingest/feed_batch.h"

#include <fmt/format.h>

#include "protocol/point_input.h"

namespace tickring::server {

std::string parse_error_reason(const protocol::parse_error& e) {
  return fmt::format("byte {}: {}", e.offset, e.reason);
}

bool too_far_ahead(core::time_ns ts, core::time_ns now, core::time_ns max_future_skew,
                   std::string& reason) {
  if (max_future_skew <= 0 || ts <= now || ts - now <= max_future_skew) return false;
  reason = fmt::format(
      "timestamp {} is more than {} s ahead of the server's clock (--max-future-skew); with "
      "--retention it would evict every later point",
      ts, max_future_skew / 1'000'000'000);
  return true;
}

void feed_batch::reset(std::size_t max_text) {
  points.clear();
  fields.clear();
  rejections.clear();
  replies.clear();
  text_.clear();
  if (text_.capacity() < max_text) text_.reserve(max_text);
  escaped_.clear();
}

void feed_batch::add_rejection(std::uint64_t line_number, reject_reason why, std::string reason) {
  rejections.push_back({points.size(), line_number, why, std::move(reason)});
}

void feed_batch::add_line(std::string_view line, std::uint64_t line_number, core::time_ns now,
                          core::time_ns max_future_skew, protocol::line_parser& parser) {
  // text_ was reserved for a whole read, so appending never moves the lines already viewed.
  const std::size_t at = text_.size();
  text_.append(line);
  const std::string_view copy(text_.data() + at, line.size());
  switch (parser.parse(copy, line_number, parsed_, error_)) {
    case protocol::parse_status::skip:
      text_.resize(at);
      return;
    case protocol::parse_status::error:
      text_.resize(at);
      add_rejection(line_number, reject_reason::parse_error, parse_error_reason(error_));
      return;
    case protocol::parse_status::ok:
      break;
  }
  if (std::string why;
      parsed_.timestamp && too_far_ahead(*parsed_.timestamp, now, max_future_skew, why)) {
    text_.resize(at);
    add_rejection(line_number, reject_reason::future_timestamp, std::move(why));
    return;
  }
  const auto first = static_cast<std::uint32_t>(fields.size());
  for (const auto& f : parsed_.fields) {
    core::field_input in = protocol::to_field_input(f);
    in.name = keep(in.name, copy);
    fields.push_back(in);
  }
  points.push_back({keep(parsed_.measurement, copy), keep(parsed_.symbol, copy), first,
                    static_cast<std::uint32_t>(parsed_.fields.size()),
                    parsed_.timestamp.value_or(now), line_number});
}

}  // namespace tickring::server
