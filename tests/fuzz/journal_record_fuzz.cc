// libFuzzer target for the journal's record decoder and segment reader
// (server/journal/journal_format.cc): any bytes, as one record or as a segment after a valid
// header, decode to records that lie inside the input and re-encode to the same bytes, or
// are refused; nothing is read outside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "server/journal/journal_format.h"

namespace {
using namespace tickring::server::journal;
void require(bool ok) {
  if (!ok) std::abort();
}

// The writer's encoding of a decoded record: a record the reader accepts must be exactly one
// the writer could have written.
std::string reencode(const record_view& r) {
  std::string out;
  switch (r.type) {
    case record_type::series:
      append_series(out, r.jseq, r.id, r.measurement, r.symbol, {r.fields, r.field_count});
      break;
    case record_type::insert:
    case record_type::overwrite: {
      std::uint64_t words[kMaxFields];
      std::memcpy(words, r.words, 8 * r.field_count);
      append_point(out, r.type, r.jseq, r.id, r.time, r.seq, words, r.field_count);
      break;
    }
    case record_type::remove:
      append_remove(out, r.jseq, r.id, r.time, r.seq);
      break;
    case record_type::log_position:
      append_log_position(out, r.jseq, r.id, r.seq);
      break;
    case record_type::log_batch:
      append_log_batch(out, r.jseq);
      break;
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One record.
  {
    std::vector<unsigned char> exact(data, data + size);
    record_view r;
    const auto d = decode_record(exact, r);
    if (d.status == decode_status::ok) {
      require(d.size <= size);
      const std::string again = reencode(r);
      require(again.size() == d.size && std::memcmp(again.data(), data, d.size) == 0);
    }
  }
  // A segment: a valid header, then the input.
  std::string file;
  append_segment_header(file);
  file.append(reinterpret_cast<const char*>(data), size);
  std::vector<unsigned char> exact(file.begin(), file.end());
  std::size_t last_end = kSegmentHeaderBytes;
  const auto res = scan_segment(exact, [&](const record_view& r, std::size_t at) -> const char* {
    require(at == last_end);
    const std::string again = reencode(r);
    require(at + again.size() <= exact.size());
    require(std::memcmp(again.data(), exact.data() + at, again.size()) == 0);
    last_end = at + again.size();
    return nullptr;
  });
  require(res.valid_bytes == last_end && res.valid_bytes <= exact.size());
  require((res.end == scan_end::clean) == (res.valid_bytes == exact.size()));
  return 0;
}
