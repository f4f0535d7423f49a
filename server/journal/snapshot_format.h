// The snapshot file format (docs/design.md, "Snapshots"): the rings' points at a journal
// position, framed like journal records, and a reader that checks every byte before a caller
// applies any of it.
//
// A snapshot file `snap-<16 hex digits>.tsn` (the digits: the journal position P, the writer
// sequence of the first record NOT covered) is a 16-byte header ("TICKRSNP", u32 version,
// u32 zero) and framed records (u32 body length | u32 CRC32C over the 4 length bytes and the
// body | body), little-endian, each body starting with u8 type:
//   begin (1):  u64 P, i64 Unix time written (ns)
//   series (2): u64 change sequence, u8 field count, u16 measurement length, u16 symbol length,
//               measurement, symbol, per field u8 kind, u16 name length, name; u32 point count
//   points (3): u32 n, then n x (i64 time, one u64 per field): of the last series, oldest first
//   end (4):    u64 series count, u64 point count
//   log position (5, version 2): u32 partition, u64 JetStream stream sequence; after begin and
//               before the first series: the log positions applied to the rings the file holds
// Version 2 added the log position record; a version 1 file is read unchanged (none in it).
// A file is valid only whole: begin first, every series followed by exactly its points, end
// last with the totals, nothing after it. A torn or corrupt file is rejected as a whole.
//
// Threads: pure functions, no I/O. Cost: O(bytes), one CRC32C per record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/journal/journal_format.h"

namespace tickring::server::journal {

inline constexpr std::string_view kSnapshotMagic = "TICKRSNP";
inline constexpr std::uint32_t kSnapshotVersion = 2;
inline constexpr std::uint32_t kMinSnapshotVersion = 1;
inline constexpr std::size_t kSnapshotHeaderBytes = 16;
// Points per points record: 4,096 quotes of 4 fields are 160 KiB, well below kMaxBodyBytes
// even at kMaxFields.
inline constexpr std::size_t kSnapshotPointsPerRecord = 4096;

enum class snapshot_record : std::uint8_t {
  begin = 1,
  series = 2,
  points = 3,
  end = 4,
  log_position = 5
};

struct snapshot_series {
  std::string_view measurement, symbol;
  std::uint64_t change_seq = 0;
  std::size_t field_count = 0;
  field_def fields[kMaxFields];
  std::uint32_t points = 0;
};

void append_snapshot_header(std::string& out);
void append_snapshot_begin(std::string& out, std::uint64_t next_jseq, std::int64_t unix_ns);
void append_snapshot_log_position(std::string& out, std::uint32_t partition,
                                  std::uint64_t stream_seq);
void append_snapshot_series(std::string& out, const snapshot_series& s);
// `times` n entries; `words` n x field_count entries, row after row.
void append_snapshot_points(std::string& out, const std::int64_t* times, const std::uint64_t* words,
                            std::size_t n, std::size_t field_count);
void append_snapshot_end(std::string& out, std::uint64_t series, std::uint64_t points);

// Called per series (before its points) and per point (words: field_count x u64, unaligned).
class snapshot_visitor {
 public:
  virtual ~snapshot_visitor() = default;
  virtual void on_series(const snapshot_series& s) = 0;
  virtual void on_point(std::int64_t time, const unsigned char* words) = 0;
};

struct snapshot_read_result {
  bool ok = false;
  std::string reason;  // !ok: what is wrong, and where
  std::uint64_t next_jseq = 0;
  std::int64_t written_unix_ns = 0;
  std::uint64_t series = 0, points = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> log_positions;  // partition, sequence
};
// Checks the whole file; with a visitor, also visits it (call once without to validate,
// then with one to apply: nothing is applied from a file that turns out bad). Never reads
// outside `file`.
snapshot_read_result read_snapshot(std::span<const unsigned char> file,
                                   snapshot_visitor* visit = nullptr);

}  // namespace tickring::server::journal
