// Unit tests for series_store: registry, field rules, retention, listener.
#include "core/series_store.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <vector>

namespace tickring::core {
namespace {

field_input f64(std::string_view name, double v) {
  return {name, field_kind::float64, std::bit_cast<std::uint64_t>(v)};
}

apply_result put_quote(series_store& st, std::string_view sym, time_ns t, double bid) {
  const field_input fields[] = {f64("bid", bid), f64("ask", bid + 1)};
  return st.apply({"quotes", sym, fields, t});
}

double bid_of(const stored_point& p) {
  return std::bit_cast<double>(p.words[0]);
}

TEST(SeriesStore, FirstPointFixesFields) {
  series_store st;
  ASSERT_EQ(put_quote(st, "EURUSD", 1, 1.5).error, apply_error::none);
  const series* s = st.find("quotes", "EURUSD");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->field_count(), 2U);
  EXPECT_EQ(s->fields()[0].name, "bid");
  EXPECT_EQ(s->fields()[1].kind, field_kind::float64);
  EXPECT_EQ(st.find("quotes", "GBPUSD"), nullptr);
  EXPECT_EQ(st.find("trades", "EURUSD"), nullptr);
}

TEST(SeriesStore, FieldsInOtherOrderAreMapped) {
  series_store st;
  put_quote(st, "X", 1, 1.0);
  const field_input swapped[] = {f64("ask", 9), f64("bid", 8)};
  ASSERT_EQ(st.apply({"quotes", "X", swapped, 2}).error, apply_error::none);
  stored_point p;
  ASSERT_TRUE(st.find("quotes", "X")->rows()->find(2, p));
  EXPECT_EQ(bid_of(p), 8);
}

TEST(SeriesStore, UnknownMissingAndConflictingFieldsAreRejected) {
  series_store st;
  put_quote(st, "X", 1, 1.0);
  const field_input extra[] = {f64("bid", 1), f64("ask", 2), f64("mid", 3)};
  auto r = st.apply({"quotes", "X", extra, 2});
  EXPECT_EQ(r.error, apply_error::unknown_field);
  EXPECT_EQ(r.field, "mid");
  const field_input missing[] = {f64("bid", 1)};
  r = st.apply({"quotes", "X", missing, 3});
  EXPECT_EQ(r.error, apply_error::missing_field);
  EXPECT_EQ(r.field, "ask");
  const field_input typed[] = {f64("bid", 1), {"ask", field_kind::int64, 5}};
  r = st.apply({"quotes", "X", typed, 4});
  EXPECT_EQ(r.error, apply_error::field_type_conflict);
  EXPECT_EQ(st.find("quotes", "X")->rows()->size(), 1U);
}

TEST(SeriesStore, SeriesLimitRejectsNewSeriesOnly) {
  series_store st({.max_series = 2});
  EXPECT_EQ(put_quote(st, "A", 1, 1).error, apply_error::none);
  EXPECT_EQ(put_quote(st, "B", 1, 1).error, apply_error::none);
  EXPECT_EQ(put_quote(st, "C", 1, 1).error, apply_error::too_many_series);
  EXPECT_EQ(put_quote(st, "A", 2, 1).error, apply_error::none);
  EXPECT_EQ(st.series_count(), 2U);
  EXPECT_EQ(st.series_at(1).symbol(), "B");
}

TEST(SeriesStore, TooManyFieldsIsRejected) {
  series_store st;
  std::vector<std::string> names;
  std::vector<field_input> fields;
  for (std::size_t i = 0; i <= kMaxFieldsPerSeries; ++i)
    names.push_back("f" + std::to_string(i));
  for (const auto& n : names)
    fields.push_back(f64(n, 1));
  EXPECT_EQ(st.apply({"wide", "X", fields, 1}).error, apply_error::too_many_fields);
}

// Short decimals take 4 bytes a field, two to a word; other doubles a whole word.
TEST(SeriesStore, MemoryPerPointFollowsFieldCountAndWidth) {
  series_store st;
  put_quote(st, "X", 1, 1);
  const field_input four[] = {f64("a", 1.25), f64("b", 1.5), f64("c", 100), f64("d", 7)};
  st.apply({"q4", "X", four, 1});
  const field_input odd[] = {f64("a", 0.1 + 0.2), f64("b", 1), f64("c", 1), f64("d", 1)};
  st.apply({"q4", "Y", odd, 1});
  EXPECT_EQ(st.find("quotes", "X")->rows()->bytes_per_point(), 24U + 1 * 8);
  EXPECT_EQ(st.find("q4", "X")->rows()->bytes_per_point(), 24U + 2 * 8);
  EXPECT_EQ(st.find("q4", "Y")->rows()->bytes_per_point(), 24U + 3 * 8);  // 8 + 3 x 4 bytes
}

// A value that does not fit its 4-byte slot re-lays the series out: every point already
// stored reads back bit for bit with its own sequence numbers, and numbering goes on.
TEST(SeriesStore, ValueThatDoesNotFitRelaysOutTheSeriesLosingNothing) {
  series_store st;
  std::vector<double> bids;
  for (int t = 1; t <= 300; ++t) {
    bids.push_back(100.0 + t / 100.0);
    put_quote(st, "X", t, bids.back());
  }
  const series* s = st.find("quotes", "X");
  ASSERT_EQ(s->relayouts(), 0U);
  const std::size_t narrow_cell = s->rows()->bytes_per_point();
  const seq_no before = s->rows()->committed_seq();
  stored_point p;
  ASSERT_TRUE(s->rows()->find(150, p));
  const seq_no seq150 = p.seq;

  const apply_result r = put_quote(st, "X", 301, 0.1 + 0.2);  // not a short decimal
  ASSERT_EQ(r.error, apply_error::none);
  bids.push_back(0.1 + 0.2);
  EXPECT_EQ(s->relayouts(), 1U);
  EXPECT_GT(s->rows()->bytes_per_point(), narrow_cell);
  EXPECT_EQ(r.ring_seq, before + 1);
  EXPECT_EQ(s->rows()->committed_seq(), before + 1);
  EXPECT_EQ(r.seq, 301U);
  ASSERT_EQ(s->rows()->size(), 301U);
  for (int t = 1; t <= 301; ++t) {
    ASSERT_TRUE(s->rows()->find(t, p)) << t;
    EXPECT_EQ(p.words[0], std::bit_cast<std::uint64_t>(bids[static_cast<std::size_t>(t - 1)])) << t;
    EXPECT_EQ(p.words[1], std::bit_cast<std::uint64_t>(bids[static_cast<std::size_t>(t - 1)] + 1))
        << t;
  }
  ASSERT_TRUE(s->rows()->find(150, p));
  EXPECT_EQ(p.seq, seq150);
  // Only the field that did not fit widened: "ask" (0.1 + 0.2 + 1 = 1.3000000000000003) too.
  EXPECT_FALSE(s->rows()->codec().narrow(0));
  put_quote(st, "X", 302, 5.25);
  EXPECT_EQ(s->relayouts(), 1U);
  ASSERT_TRUE(s->rows()->find(302, p));
  EXPECT_EQ(bid_of(p), 5.25);
}

// A first price of 0 plans every decimal; a later 150.125 overflows that range and is kept
// narrow at fewer decimals, unless a stored price needs the decimals.
TEST(SeriesStore, PriceOutgrowingItsRangeKeepsFourBytesWhenItCan) {
  series_store st;
  put_quote(st, "X", 1, 0.0);  // bid 0, ask 1
  put_quote(st, "X", 2, 0.5);
  put_quote(st, "X", 3, 150.125);
  const series* s = st.find("quotes", "X");
  EXPECT_EQ(s->relayouts(), 1U);
  EXPECT_EQ(s->rows()->bytes_per_point(), 24U + 8);  // both prices still 4 bytes
  stored_point p;
  const double bids[] = {0.0, 0.5, 150.125};
  for (int t = 1; t <= 3; ++t) {
    ASSERT_TRUE(s->rows()->find(t, p));
    EXPECT_EQ(bid_of(p), bids[t - 1]);
  }
  put_quote(st, "Y", 1, 0.0);
  put_quote(st, "Y", 2, 0.000001234);
  put_quote(st, "Y", 3, 150.125);  // 0.000001234 needs 9 decimals: bid goes wide
  const series* y = st.find("quotes", "Y");
  // Two: at time 2 the ask (1.000001234, 9 decimals; its first value 1 left room for 8), at
  // time 3 the bid.
  EXPECT_EQ(y->relayouts(), 2U);
  EXPECT_FALSE(y->rows()->codec().narrow(0));
  ASSERT_TRUE(y->rows()->find(2, p));
  EXPECT_EQ(bid_of(p), 0.000001234);
}

TEST(SeriesStore, IntegerBeyond32BitsRelaysOut) {
  series_store st;
  const field_input small[] = {{"size", field_kind::int64, 100}};
  st.apply({"trades", "X", small, 1});
  const auto big = static_cast<std::uint64_t>(std::int64_t{-5'000'000'000});
  const field_input large[] = {{"size", field_kind::int64, big}};
  ASSERT_EQ(st.apply({"trades", "X", large, 2}).error, apply_error::none);
  const series* s = st.find("trades", "X");
  EXPECT_EQ(s->relayouts(), 1U);
  stored_point p;
  ASSERT_TRUE(s->rows()->find(1, p));
  EXPECT_EQ(p.words[0], 100U);
  ASSERT_TRUE(s->rows()->find(2, p));
  EXPECT_EQ(p.words[0], big);
}

TEST(SeriesStore, RetentionByCountEvictsOldest) {
  series_store st({.max_points_per_series = 3});
  for (int t = 1; t <= 5; ++t)
    put_quote(st, "X", t, t);
  const auto rows = st.find("quotes", "X")->rows();
  EXPECT_EQ(rows->size(), 3U);
  stored_point p;
  ASSERT_TRUE(rows->lowest(p));
  EXPECT_EQ(p.time, 3);
  EXPECT_EQ(st.evictions(), 2U);
}

TEST(SeriesStore, RetentionByAgeIsRelativeToNewestPoint) {
  series_store st({.max_age = 10});
  for (int t : {100, 105, 111, 120})
    put_quote(st, "X", t, t);
  const auto rows = st.find("quotes", "X")->rows();
  stored_point p;
  ASSERT_TRUE(rows->lowest(p));
  EXPECT_EQ(p.time, 111);
  EXPECT_EQ(rows->size(), 2U);
}

// The change sequence counts inserts, overwrites and deletes, never retention evictions, and
// the result says which ring sequences the evictions took, so a stream sees no gap.
TEST(SeriesStore, ChangeSequenceSkipsEvictions) {
  series_store st({.max_points_per_series = 2});
  EXPECT_EQ(put_quote(st, "X", 1, 1).seq, 1U);
  EXPECT_EQ(put_quote(st, "X", 2, 1).seq, 2U);
  const apply_result r = put_quote(st, "X", 3, 1);  // evicts 1
  EXPECT_EQ(r.seq, 3U);
  EXPECT_EQ(r.evicted, 1U);
  EXPECT_EQ(r.ring_seq_last, r.ring_seq + 1);
  EXPECT_EQ(r.oldest, 2);
  const apply_result o = put_quote(st, "X", 3, 2);  // overwrite
  EXPECT_FALSE(o.inserted);
  EXPECT_EQ(o.seq, 4U);
  const auto rm = st.remove(*st.find("quotes", "X"), 2);
  ASSERT_TRUE(rm.has_value());
  EXPECT_EQ(rm->seq, 5U);
  EXPECT_FALSE(st.remove(*st.find("quotes", "X"), 2).has_value());
  EXPECT_EQ(st.find("quotes", "X")->change_seq(), 5U);
  EXPECT_EQ(st.find("quotes", "X")->rows()->committed_seq(), rm->ring_seq);
}

TEST(SeriesStore, FirstPointReportsCreation) {
  series_store st;
  EXPECT_TRUE(put_quote(st, "X", 1, 1).created);
  EXPECT_FALSE(put_quote(st, "X", 2, 1).created);
}

}  // namespace
}  // namespace tickring::core
