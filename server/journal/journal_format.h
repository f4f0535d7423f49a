// The journal's on-disk format (docs/design.md, "Journal format"): segment header, framed
// records, their encoder and a decoder that never trusts a byte it has not checked.
//
// A segment file is a 16-byte header ("TICKRJNL", u32 version, u32 zero) and then records:
//   u32 body length | u32 CRC32C over (the 4 length bytes, then the body) | body
// Every body starts with u8 type and u64 writer sequence (one number per record, +1 each,
// across segments and restarts). Types:
//   series (1): u32 id, u8 field count, u16 measurement length, u16 symbol length, measurement,
//               symbol, then per field u8 kind, u16 name length, name
//   insert (2), overwrite (3): u32 id, i64 time, u64 series change sequence, field words (u64)
//   remove (4): u32 id, i64 time, u64 series change sequence
//   log position (5, version 2): u32 partition, u64 JetStream stream sequence: every change of
//               that partition's log up to the sequence is in the records before this one
//               (server/cluster/log_consumer.h). Each segment repeats the positions known at
//               its start, so a segment still reads alone.
//   log batch (6, version 4): no body beyond type and sequence: the records after it, up to
//               the next log position record, are one log message's changes. Replay applies
//               them only once that position record is read, so a message cut short at the
//               end of the journal (a write() that a kill -9 stopped between pages) is
//               dropped whole, and consumed again from its position + 1.
// Version 2 added the log position record, version 4 the log batch record: older segments
// replay unchanged (they have neither); the writer writes version 4, which older readers
// refuse by its header. Version 3 is never written: the header has no checksum, and the
// versions read (1, 2, 4) differ from each other in two bits, so one flipped bit never turns
// a segment of one version into one of another.
// A series record precedes the first point of its series in each segment, so a segment reads
// alone (a whole old segment can be deleted). Integers are little-endian.
//
// Threads: pure functions, no I/O, no global state (the CRC table is built at compile time).
// Cost: encode O(record); scan O(bytes) with one CRC32C per record (SSE4.2 where the CPU has it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace tickring::server::journal {

inline constexpr std::string_view kSegmentMagic = "TICKRJNL";
inline constexpr std::uint32_t kFormatVersion = 4;
inline constexpr std::uint32_t kSkippedFormatVersion = 3;  // see above
// The oldest segment version this reader replays.
inline constexpr std::uint32_t kMinFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 16;
inline constexpr std::size_t kFrameBytes = 8;  // length + CRC
// The largest body the writer makes is a series record of 16 fields with names of a line's
// length; anything longer is corruption, not a record (and bounds what a bad length can ask for).
inline constexpr std::size_t kMaxBodyBytes = 1024 * 1024;
inline constexpr std::size_t kMaxFields = 16;
// Series ids are dense from 0 within a server run; past this an id is corruption.
inline constexpr std::uint32_t kMaxSeriesId = 1U << 24;

enum class record_type : std::uint8_t {
  series = 1,
  insert = 2,
  overwrite = 3,
  remove = 4,
  log_position = 5,
  log_batch = 6
};

struct field_def {
  std::uint8_t kind;  // core::field_kind's value
  std::string_view name;
};

// One decoded record; views point into the scanned bytes.
struct record_view {
  record_type type;
  std::uint64_t jseq;  // the writer's sequence
  std::uint32_t id;    // log_position: the partition
  // series
  std::string_view measurement, symbol;
  std::size_t field_count = 0;
  field_def fields[kMaxFields];
  // insert, overwrite, remove
  std::int64_t time = 0;
  std::uint64_t seq = 0;                 // log_position: the stream sequence
  const unsigned char* words = nullptr;  // field_count x u64, unaligned (read with memcpy)
};

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0);
// The table implementation alone (tests compare it with the hardware one).
std::uint32_t crc32c_portable(const void* data, std::size_t n, std::uint32_t crc = 0);

void append_segment_header(std::string& out);

// Encoders append one framed record to `out` and return its size.
std::size_t append_series(std::string& out, std::uint64_t jseq, std::uint32_t id,
                          std::string_view measurement, std::string_view symbol,
                          std::span<const field_def> fields);
std::size_t append_point(std::string& out, record_type type, std::uint64_t jseq, std::uint32_t id,
                         std::int64_t time, std::uint64_t seq, const std::uint64_t* words,
                         std::size_t field_count);
std::size_t append_remove(std::string& out, std::uint64_t jseq, std::uint32_t id, std::int64_t time,
                          std::uint64_t seq);

std::size_t append_log_position(std::string& out, std::uint64_t jseq, std::uint32_t partition,
                                std::uint64_t stream_seq);
std::size_t append_log_batch(std::string& out, std::uint64_t jseq);

enum class decode_status { ok, need_more, corrupt };
struct decode_result {
  decode_status status;
  std::size_t size = 0;     // bytes of the framed record (ok)
  const char* reason = "";  // corrupt: why
};
// Decodes the record at the start of `bytes`. need_more: the frame claims more bytes than
// `bytes` holds (a torn record when `bytes` ends the file).
decode_result decode_record(std::span<const unsigned char> bytes, record_view& out);

enum class scan_end { clean, torn, corrupt };
struct scan_result {
  scan_end end = scan_end::clean;
  std::size_t valid_bytes = 0;  // end of the last good record (the truncation point)
  std::uint64_t records = 0;
  std::string reason;  // torn or corrupt: what was found at valid_bytes
};
// Visits every record of a whole segment file in order. The visitor returns nullptr to go on,
// or a reason that makes the record corrupt (an unknown series id, a sequence that jumps).
// A frame cut short by the end of the file, or followed only by zero bytes to the end (a
// file extended but never written, as a power loss can leave it), ends the scan as torn;
// anything else that does not decode is corrupt. Never reads outside `file`.
using record_visitor = std::function<const char*(const record_view&, std::size_t offset)>;
scan_result scan_segment(std::span<const unsigned char> file, const record_visitor& visit);

}  // namespace tickring::server::journal
