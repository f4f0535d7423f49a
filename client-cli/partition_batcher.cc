#include "client-cli/partition_batcher.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/partition.h"

namespace tickring::cli {
namespace {

std::int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

partition_batcher::partition_batcher(std::uint32_t partitions, std::size_t max_message_bytes,
                                     emit_fn emit)
    : partitions_(partitions),
      max_bytes_(max_message_bytes),
      emit_(std::move(emit)),
      batches_(partitions),
      keep_capacity_(std::size_t{partitions} * max_message_bytes <= kMaxBufferedBytes) {}

partition_batcher::add_result partition_batcher::add(std::string_view line, std::size_t line_number,
                                                     protocol::parse_error& error) {
  if (failed_) return add_result::failed;
  switch (parser_.parse(line, line_number, point_, error)) {
    case protocol::parse_status::skip:
      return add_result::skipped;
    case protocol::parse_status::error:
      return add_result::rejected;
    case protocol::parse_status::ok:
      break;
  }
  const std::uint32_t p = protocol::partition_of(point_.measurement, point_.symbol, partitions_);
  if (line.ends_with('\r')) line.remove_suffix(1);
  // " " + up to 20 digits of the stamp, then '\n'.
  constexpr std::size_t kStampBytes = 22;
  const std::size_t need = line.size() + 1 + (point_.timestamp ? 0 : kStampBytes);
  batch& b = batches_[p];
  if (!b.payload.empty() && b.payload.size() + need > max_bytes_ && !emit(p)) {
    return add_result::failed;
  }
  if (b.payload.empty()) b.started = clock::now();
  const std::size_t before = b.payload.size();
  b.payload.append(line);
  if (!point_.timestamp) fmt::format_to(std::back_inserter(b.payload), " {}", wall_clock_ns());
  b.payload.push_back('\n');
  ++b.lines;
  buffered_ += b.payload.size() - before;
  if (buffered_ > kMaxBufferedBytes && !flush_all()) return add_result::failed;
  return add_result::added;
}

bool partition_batcher::emit(std::uint32_t partition) {
  batch& b = batches_[partition];
  if (b.payload.empty()) return true;
  if (!emit_(partition, b.payload, b.lines)) {
    failed_ = true;
    return false;
  }
  buffered_ -= b.payload.size();
  if (keep_capacity_) {
    b.payload.clear();
  } else {
    std::string().swap(b.payload);
  }
  b.lines = 0;
  return true;
}

bool partition_batcher::flush_older_than(clock::duration age, clock::time_point now) {
  if (failed_) return false;
  for (std::uint32_t p = 0; p < partitions_; ++p) {
    if (!batches_[p].payload.empty() && batches_[p].started + age <= now && !emit(p)) return false;
  }
  return true;
}

bool partition_batcher::flush_all() {
  if (failed_) return false;
  for (std::uint32_t p = 0; p < partitions_; ++p) {
    if (!emit(p)) return false;
  }
  return true;
}

partition_batcher::clock::time_point partition_batcher::oldest() const {
  auto t = clock::time_point::max();
  for (const batch& b : batches_) {
    if (!b.payload.empty()) t = std::min(t, b.started);
  }
  return t;
}

}  // namespace tickring::cli
