// server::line_applier: each rejected line gets its reason (counted by kind), a good line is
// applied through the write path, and a bad line costs nothing else.
#include "server/ingest/line_applier.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/partition.h"
#include "server/ingest/write_path.h"

namespace tickring::server {
namespace {

class LineApplierTest : public ::testing::Test {
 protected:
  std::uint64_t rejected(reject_reason r) const {
    return counters_.by_reason[static_cast<std::size_t>(r)].load();
  }
  bool apply(std::string_view line) { return applier_.apply(line, ++line_no_, kNow, reason_); }

  static constexpr core::time_ns kNow = 1'700'000'000'000'000'000;
  core::series_store store_{core::series_store_limits{.max_series = 2}};
  ingest_counters counters_;
  write_path path_{store_, counters_};
  line_applier applier_{path_};
  std::string reason_;
  std::size_t line_no_ = 0;
};

TEST_F(LineApplierTest, GoodLineIsAppliedAndCounted) {
  ASSERT_TRUE(apply("quotes,sym=A bid=1.5,size=3i 100"));
  EXPECT_EQ(counters_.lines_accepted.load(), 1U);
  const auto* s = store_.find("quotes", "A");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->change_seq(), 1U);
}

TEST_F(LineApplierTest, LineWithoutTimestampGetsNow) {
  ASSERT_TRUE(apply("quotes,sym=A bid=1.5"));
  const auto* s = store_.find("quotes", "A");
  ASSERT_NE(s, nullptr);
  core::stored_point p;
  ASSERT_TRUE(s->rows()->highest(p));
  EXPECT_EQ(p.time, kNow);
}

TEST_F(LineApplierTest, ParseErrorNamesTheByte) {
  EXPECT_FALSE(apply("quotes,sym=A bid=1.x 100"));
  EXPECT_NE(reason_.find("byte 17"), std::string::npos) << reason_;
  EXPECT_EQ(rejected(reject_reason::parse_error), 1U);
  EXPECT_EQ(counters_.lines_rejected.load(), 1U);
}

TEST_F(LineApplierTest, StoreRejectionsSayWhy) {
  ASSERT_TRUE(apply("quotes,sym=A bid=1.5,size=3i 100"));
  EXPECT_FALSE(apply("quotes,sym=A bid=1.5,size=3i,extra=1 101"));
  EXPECT_NE(reason_.find("'extra' is not a field of series quotes/A"), std::string::npos)
      << reason_;
  EXPECT_FALSE(apply("quotes,sym=A bid=1.5 102"));
  EXPECT_NE(reason_.find("'size' of series quotes/A is missing"), std::string::npos) << reason_;
  EXPECT_FALSE(apply("quotes,sym=A bid=1.5,size=3.5 103"));
  EXPECT_NE(reason_.find("field type conflict: 'size' is integer"), std::string::npos) << reason_;
  EXPECT_EQ(rejected(reject_reason::unknown_field), 1U);
  EXPECT_EQ(rejected(reject_reason::missing_field), 1U);
  EXPECT_EQ(rejected(reject_reason::field_type_conflict), 1U);
  // None of it touched the series.
  EXPECT_EQ(store_.find("quotes", "A")->change_seq(), 1U);
}

TEST_F(LineApplierTest, SeriesLimitNamesTheSeries) {
  ASSERT_TRUE(apply("quotes,sym=A bid=1 1"));
  ASSERT_TRUE(apply("quotes,sym=B bid=1 1"));
  EXPECT_FALSE(apply("quotes,sym=C bid=1 1"));
  EXPECT_NE(reason_.find("new series quotes/C rejected"), std::string::npos) << reason_;
  EXPECT_EQ(rejected(reject_reason::too_many_series), 1U);
}

TEST_F(LineApplierTest, FutureTimestampIsRejectedOnlyWithASkewBound) {
  const std::string far = "quotes,sym=A bid=1 " + std::to_string(kNow + 3'600'000'000'000);
  applier_.set_max_future_skew(600'000'000'000);  // 10 min
  EXPECT_FALSE(apply(far));
  EXPECT_NE(reason_.find("--max-future-skew"), std::string::npos) << reason_;
  EXPECT_EQ(rejected(reject_reason::future_timestamp), 1U);
  applier_.set_max_future_skew(0);
  EXPECT_TRUE(apply(far));
}

// A log consumer's message of one partition: a line of a series hashing to another partition
// is rejected as misrouted and not stored; the partition's own lines are applied.
TEST_F(LineApplierTest, MisroutedLineIsRejectedAndCounted) {
  const std::uint32_t p = protocol::partition_of("quotes", "EURUSD", 8);
  applier_.expect_partition((p + 1) % 8, 8);
  EXPECT_FALSE(apply("quotes,sym=EURUSD bid=1 10"));
  EXPECT_NE(reason_.find("belongs to partition " + std::to_string(p)), std::string::npos)
      << reason_;
  EXPECT_EQ(rejected(reject_reason::misrouted), 1U);
  EXPECT_EQ(store_.find("quotes", "EURUSD"), nullptr);
  applier_.expect_partition(p, 8);
  EXPECT_TRUE(apply("quotes,sym=EURUSD bid=1 10")) << reason_;
  EXPECT_NE(store_.find("quotes", "EURUSD"), nullptr);
}

TEST_F(LineApplierTest, BlankAndCommentLinesAreSkippedNotCounted) {
  EXPECT_TRUE(apply(""));
  EXPECT_TRUE(apply("# a comment"));
  EXPECT_EQ(counters_.lines_accepted.load(), 0U);
  EXPECT_EQ(counters_.lines_rejected.load(), 0U);
}

// The feed's two stages: lines parsed into a batch on one thread, applied on another. The
// batch keeps the lines' order: rejections made while parsing and by the store come back in
// line order, each counted once, and the good lines around them are applied.
TEST_F(LineApplierTest, BatchKeepsLineOrderAcrossBothStagesRejections) {
  protocol::line_parser parser;
  feed_batch b;
  b.reset(64 * 1024);
  const std::string_view lines[] = {
      "quotes,sym=A bid=1.5,size=3i 100",          // 1 ok
      "quotes,sym=A bid=oops 200",                 // 2 parse error (feed thread)
      "quotes,sym=A bid=1.5,size=3i,extra=1 300",  // 3 unknown field (writer)
      "# a comment",                               // 4 skipped
      "quotes,sym=A bid=2.5,size=4i 400",          // 5 ok
      "quotes,sym=A bid=2.5 500",                  // 6 missing field (writer)
  };
  std::uint64_t n = 0;
  for (const auto line : lines)
    b.add_line(line, ++n, kNow, 0, parser);
  b.add_rejection(++n, reject_reason::line_too_long, "too long");  // 7
  EXPECT_EQ(b.points.size(), 4U);
  applier_.apply_batch(b);
  ASSERT_EQ(b.replies.size(), 4U);
  EXPECT_EQ(b.replies[0].line_number, 2U);
  EXPECT_NE(b.replies[0].reason.find("byte"), std::string::npos) << b.replies[0].reason;
  EXPECT_EQ(b.replies[1].line_number, 3U);
  EXPECT_NE(b.replies[1].reason.find("'extra'"), std::string::npos) << b.replies[1].reason;
  EXPECT_EQ(b.replies[2].line_number, 6U);
  EXPECT_NE(b.replies[2].reason.find("'size'"), std::string::npos) << b.replies[2].reason;
  EXPECT_EQ(b.replies[3].line_number, 7U);
  EXPECT_EQ(counters_.lines_accepted.load(), 2U);
  EXPECT_EQ(counters_.lines_rejected.load(), 4U);
  EXPECT_EQ(rejected(reject_reason::parse_error), 1U);
  EXPECT_EQ(rejected(reject_reason::line_too_long), 1U);
  const auto* s = store_.find("quotes", "A");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->rows()->size(), 2U);
}

TEST_F(LineApplierTest, BatchRejectsFutureTimestampsWhileParsing) {
  protocol::line_parser parser;
  feed_batch b;
  b.reset(1024);
  const core::time_ns skew = 1'000'000'000;
  b.add_line("quotes,sym=A bid=1 " + std::to_string(kNow + 2 * skew), 1, kNow, skew, parser);
  b.add_line("quotes,sym=A bid=1 " + std::to_string(kNow + skew / 2), 2, kNow, skew, parser);
  applier_.apply_batch(b);
  ASSERT_EQ(b.replies.size(), 1U);
  EXPECT_EQ(b.replies[0].line_number, 1U);
  EXPECT_NE(b.replies[0].reason.find("--max-future-skew"), std::string::npos);
  EXPECT_EQ(rejected(reject_reason::future_timestamp), 1U);
  EXPECT_EQ(counters_.lines_accepted.load(), 1U);
}

}  // namespace
}  // namespace tickring::server
