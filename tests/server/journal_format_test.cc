// server/journal/journal_format.h: the record codec, and the segment reader against every
// truncation and random bit flips: it never crashes, never reads past the file, and never
// accepts a record that is not one the writer wrote.
#include "server/journal/journal_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace tickring::server::journal {
namespace {

std::span<const unsigned char> bytes_of(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

TEST(JournalCrc, StandardCheckValue) {
  // CRC-32C of "123456789" (RFC 3720, B.4).
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283U);
  EXPECT_EQ(crc32c_portable("123456789", 9), 0xE3069283U);
}

TEST(JournalCrc, HardwareAndTableAgreeAndChain) {
  std::mt19937_64 rng(7);
  std::string s(1000, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  for (std::size_t n : {0U, 1U, 7U, 8U, 9U, 63U, 64U, 999U, 1000U}) {
    EXPECT_EQ(crc32c(s.data(), n), crc32c_portable(s.data(), n)) << n;
    // Chaining: crc(a + b) == crc(b, crc(a)).
    const std::size_t half = n / 2;
    EXPECT_EQ(crc32c(s.data() + half, n - half, crc32c(s.data(), half)), crc32c(s.data(), n));
  }
}

// A segment of random records and where each one starts.
struct built {
  std::string file;
  std::vector<std::size_t> starts;  // record offsets, then the end of the file
  std::vector<std::uint64_t> jseqs;
};

built build_segment(std::mt19937_64& rng, std::size_t records) {
  built b;
  append_segment_header(b.file);
  std::uint64_t jseq = 100;
  std::vector<std::size_t> fields_of;
  for (std::size_t i = 0; i < records; ++i) {
    b.starts.push_back(b.file.size());
    b.jseqs.push_back(jseq);
    const auto pick = rng() % 10;
    if (fields_of.empty() || pick == 0) {
      const std::size_t n = 1 + rng() % kMaxFields;
      std::vector<std::string> names;
      std::vector<field_def> defs;
      for (std::size_t f = 0; f < n; ++f)
        names.push_back("f" + std::to_string(f));
      for (std::size_t f = 0; f < n; ++f)
        defs.push_back({static_cast<std::uint8_t>(rng() % 4), names[f]});
      append_series(b.file, jseq++, static_cast<std::uint32_t>(fields_of.size()), "quotes",
                    "SYM" + std::to_string(fields_of.size()), defs);
      fields_of.push_back(n);
    } else if (pick == 1) {
      append_remove(b.file, jseq++, static_cast<std::uint32_t>(rng() % fields_of.size()),
                    static_cast<std::int64_t>(rng()), rng());
    } else {
      const auto id = static_cast<std::uint32_t>(rng() % fields_of.size());
      std::uint64_t words[kMaxFields];
      for (auto& w : words)
        w = rng();
      append_point(b.file, pick % 2 == 0 ? record_type::insert : record_type::overwrite, jseq++, id,
                   static_cast<std::int64_t>(rng()), rng(), words, fields_of[id]);
    }
  }
  b.starts.push_back(b.file.size());
  return b;
}

struct seen {
  std::vector<std::size_t> offsets;
  std::vector<std::uint64_t> jseqs;
};

scan_result scan(const std::string& file, seen& s) {
  return scan_segment(bytes_of(file), [&](const record_view& r, std::size_t at) -> const char* {
    s.offsets.push_back(at);
    s.jseqs.push_back(r.jseq);
    return nullptr;
  });
}

TEST(JournalFormat, RoundTripsEveryRecordKind) {
  std::string f;
  append_segment_header(f);
  const field_def defs[] = {{0, "bid"}, {0, "ask"}, {1, "size"}};
  append_series(f, 1, 3, "quotes", "EURUSD", defs);
  const std::uint64_t words[] = {11, 22, 33};
  append_point(f, record_type::overwrite, 2, 3, -5, 9, words, 3);
  append_remove(f, 3, 3, 42, 10);
  std::vector<record_view> got;
  const auto r = scan_segment(bytes_of(f), [&](const record_view& v, std::size_t) -> const char* {
    got.push_back(v);
    return nullptr;
  });
  ASSERT_EQ(r.end, scan_end::clean);
  EXPECT_EQ(r.valid_bytes, f.size());
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].type, record_type::series);
  EXPECT_EQ(got[0].measurement, "quotes");
  EXPECT_EQ(got[0].symbol, "EURUSD");
  ASSERT_EQ(got[0].field_count, 3U);
  EXPECT_EQ(got[0].fields[2].name, "size");
  EXPECT_EQ(got[0].fields[2].kind, 1);
  EXPECT_EQ(got[1].type, record_type::overwrite);
  EXPECT_EQ(got[1].jseq, 2U);
  EXPECT_EQ(got[1].id, 3U);
  EXPECT_EQ(got[1].time, -5);
  EXPECT_EQ(got[1].seq, 9U);
  ASSERT_EQ(got[1].field_count, 3U);
  std::uint64_t w2 = 0;
  std::memcpy(&w2, got[1].words + 16, 8);
  EXPECT_EQ(w2, 33U);
  EXPECT_EQ(got[2].type, record_type::remove);
  EXPECT_EQ(got[2].time, 42);
}

TEST(JournalFormat, LogPositionRoundTrips) {
  std::string f;
  append_segment_header(f);
  append_log_position(f, 7, 3, 0xFFFF'FFFF'FFFFULL);
  append_log_position(f, 8, 4095, 1);
  std::vector<record_view> got;
  const auto r = scan_segment(bytes_of(f), [&](const record_view& v, std::size_t) -> const char* {
    got.push_back(v);
    return nullptr;
  });
  ASSERT_EQ(r.end, scan_end::clean);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].type, record_type::log_position);
  EXPECT_EQ(got[0].jseq, 7U);
  EXPECT_EQ(got[0].id, 3U);  // the partition
  EXPECT_EQ(got[0].seq, 0xFFFF'FFFF'FFFFULL);
  EXPECT_EQ(got[1].id, 4095U);
  EXPECT_EQ(got[1].seq, 1U);
}

// A segment written before log positions existed (version 1) still replays; a version 1
// segment cannot hold a log position record; an unknown future version is refused.
TEST(JournalFormat, VersionOneSegmentsStillRead) {
  std::string f;
  append_segment_header(f);
  const std::uint32_t v1 = 1;
  std::memcpy(f.data() + 8, &v1, 4);
  const field_def defs[] = {{0, "bid"}};
  append_series(f, 1, 0, "quotes", "EURUSD", defs);
  const std::uint64_t words[] = {5};
  append_point(f, record_type::insert, 2, 0, 10, 1, words, 1);
  std::size_t records = 0;
  auto count = [&](const record_view&, std::size_t) -> const char* {
    ++records;
    return nullptr;
  };
  EXPECT_EQ(scan_segment(bytes_of(f), count).end, scan_end::clean);
  EXPECT_EQ(records, 2U);
  append_log_position(f, 3, 0, 9);
  const auto r = scan_segment(bytes_of(f), count);
  EXPECT_EQ(r.end, scan_end::corrupt);
  EXPECT_EQ(r.reason, "a log position record in a version 1 segment");
  const std::uint32_t future = kFormatVersion + 1;
  std::memcpy(f.data() + 8, &future, 4);
  EXPECT_EQ(scan_segment(bytes_of(f), count).end, scan_end::corrupt);
}

TEST(JournalFormat, LogPositionOfTheWrongSizeIsCorrupt) {
  std::string f;
  append_segment_header(f);
  // A well-framed body of the log position type with one byte too many.
  std::string body;
  body.push_back(static_cast<char>(record_type::log_position));
  body.append(8 + 4 + 8 + 1, '\1');
  const auto len = static_cast<std::uint32_t>(body.size());
  std::string frame(8, '\0');
  std::memcpy(frame.data(), &len, 4);
  std::uint32_t crc = crc32c(frame.data(), 4);
  crc = crc32c(body.data(), body.size(), crc);
  std::memcpy(frame.data() + 4, &crc, 4);
  f += frame + body;
  const auto r = scan_segment(bytes_of(f), [](const record_view&, std::size_t) { return nullptr; });
  EXPECT_EQ(r.end, scan_end::corrupt);
  EXPECT_EQ(r.reason, "bad log position record length");
}

TEST(JournalFormat, VisitorCanRefuseARecord) {
  std::mt19937_64 rng(1);
  const auto b = build_segment(rng, 10);
  int n = 0;
  const auto r = scan_segment(bytes_of(b.file), [&](const record_view&, std::size_t) {
    return ++n == 4 ? "refused" : nullptr;
  });
  EXPECT_EQ(r.end, scan_end::corrupt);
  EXPECT_EQ(r.valid_bytes, b.starts[3]);
  EXPECT_EQ(r.reason, "refused");
}

// Every cut of the file: the records wholly before the cut, and a torn end unless the cut
// falls on a record boundary.
TEST(JournalFormatProperty, EveryTruncationYieldsExactlyThePrefix) {
  std::mt19937_64 rng(2);
  const auto b = build_segment(rng, 60);
  for (std::size_t cut = 0; cut <= b.file.size(); ++cut) {
    seen s;
    const auto r = scan(b.file.substr(0, cut), s);
    if (cut < kSegmentHeaderBytes) {
      EXPECT_EQ(r.end, scan_end::torn);
      continue;
    }
    std::size_t whole = 0;
    while (whole + 1 < b.starts.size() && b.starts[whole + 1] <= cut)
      ++whole;
    ASSERT_EQ(s.offsets.size(), whole) << "cut " << cut;
    EXPECT_EQ(r.valid_bytes, b.starts[whole]);
    EXPECT_EQ(r.end, cut == b.starts[whole] ? scan_end::clean : scan_end::torn) << "cut " << cut;
  }
}

// Random bit flips anywhere: whatever the scan accepts lies wholly before the first flipped
// byte and is the writer's own record; the flip itself is never passed over as clean.
TEST(JournalFormatProperty, BitFlipsNeverYieldAWrongRecord) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 3000; ++round) {
    const auto b = build_segment(rng, 1 + rng() % 40);
    std::string f = b.file;
    const std::size_t flips = 1 + rng() % 3;
    std::size_t first = f.size();
    for (std::size_t k = 0; k < flips; ++k) {
      const std::size_t at = rng() % f.size();
      f[at] = static_cast<char>(f[at] ^ (1 << (rng() % 8)));
      first = std::min(first, at);
    }
    seen s;
    const auto r = scan(f, s);
    ASSERT_NE(r.end, scan_end::clean) << "round " << round;
    for (std::size_t i = 0; i < s.offsets.size(); ++i) {
      ASSERT_EQ(s.offsets[i], b.starts[i]);
      ASSERT_EQ(s.jseqs[i], b.jseqs[i]);
      ASSERT_LE(b.starts[i + 1], first) << "a record with a flipped byte was accepted";
    }
    ASSERT_LE(r.valid_bytes, first);
  }
}

TEST(JournalFormatProperty, RandomBytesNeverCrashOrOverread) {
  std::mt19937_64 rng(4);
  for (int round = 0; round < 2000; ++round) {
    std::string f;
    append_segment_header(f);
    const std::size_t n = rng() % 512;
    for (std::size_t i = 0; i < n; ++i)
      f.push_back(static_cast<char>(rng()));
    // Copy into an exactly sized heap buffer so that a sanitizer build sees any overread.
    std::vector<unsigned char> exact(f.begin(), f.end());
    const auto r = scan_segment(exact, [](const record_view&, std::size_t) { return nullptr; });
    EXPECT_LE(r.valid_bytes, exact.size());
  }
}

TEST(JournalFormat, ZeroFilledTailIsTornNotCorrupt) {
  std::mt19937_64 rng(5);
  auto b = build_segment(rng, 5);
  b.file.append(4096, '\0');  // a file extended but never written (power loss)
  seen s;
  const auto r = scan(b.file, s);
  EXPECT_EQ(r.end, scan_end::torn);
  EXPECT_EQ(s.offsets.size(), 5U);
  EXPECT_EQ(r.valid_bytes, b.starts[5]);
}

TEST(JournalFormat, BadHeaderIsCorrupt) {
  std::string f;
  append_segment_header(f);
  f[0] = 'X';
  seen s;
  EXPECT_EQ(scan(f, s).end, scan_end::corrupt);
}

}  // namespace
}  // namespace tickring::server::journal
