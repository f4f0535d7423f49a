// The WebSocket stream's client messages: every field, every error code, and the shared
// body the ingest thread writes once per change.
#include "protocol/stream_messages.h"

#include <gtest/gtest.h>

#include <bit>
#include <nlohmann/json.hpp>

namespace tickring::protocol {
namespace {

constexpr std::size_t kCap = 10'000;

stream_error_code error_of(std::string_view text) {
  const auto r = parse_client_message(text, kCap);
  EXPECT_TRUE(std::holds_alternative<stream_error>(r)) << text;
  return std::holds_alternative<stream_error>(r) ? std::get<stream_error>(r).code
                                                 : stream_error_code::binary_frame;
}

subscribe_request subscribe_of(std::string_view text) {
  const auto r = parse_client_message(text, kCap);
  EXPECT_TRUE(std::holds_alternative<client_message>(r)) << text;
  return std::get<subscribe_request>(std::get<client_message>(r));
}

TEST(StreamMessages, SubscribeWithEveryField) {
  const auto s = subscribe_of(
      R"({"op":"subscribe","id":7,"series":"quotes/EURUSD","snapshot":5,"since_seq":12,)"
      R"("candles":"5m","fields":["bid","ask"],"batch":true})");
  EXPECT_EQ(s.id, 7);
  EXPECT_EQ(s.series.measurement, "quotes");
  EXPECT_EQ(s.series.symbol, "EURUSD");
  EXPECT_EQ(s.snapshot, 5U);
  EXPECT_EQ(s.since_seq, 12U);
  EXPECT_EQ(s.candle_interval, 300'000'000'000LL);
  EXPECT_EQ(s.candle_text, "5m");
  EXPECT_EQ(s.fields, (std::vector<std::string>{"bid", "ask"}));
  EXPECT_EQ(s.batch, kDefaultBatch);
}

TEST(StreamMessages, WildcardAndDefaults) {
  const auto s = subscribe_of(R"({"op":"subscribe","id":0,"series":"quotes/*"})");
  EXPECT_TRUE(s.series.wildcard());
  EXPECT_EQ(s.series.name(), "quotes/*");
  EXPECT_EQ(s.snapshot, 0U);
  EXPECT_FALSE(s.since_seq.has_value());
  EXPECT_EQ(s.candle_interval, 0);
  EXPECT_EQ(s.batch, 0U);
}

TEST(StreamMessages, EveryErrorHasItsCode) {
  EXPECT_EQ(error_of("nope"), stream_error_code::invalid_json);
  EXPECT_EQ(error_of("[1]"), stream_error_code::bad_request);
  EXPECT_EQ(error_of(R"({"id":1})"), stream_error_code::bad_request);
  EXPECT_EQ(error_of(R"({"op":"jump"})"), stream_error_code::unknown_op);
  EXPECT_EQ(error_of(R"({"op":"subscribe","series":"a/b"})"), stream_error_code::bad_request);
  EXPECT_EQ(error_of(R"({"op":"subscribe","id":-1,"series":"a/b"})"),
            stream_error_code::bad_request);
  for (const char* bad : {"ab", "/b", "a/", "a/b/c", ""}) {
    EXPECT_EQ(error_of(std::string(R"({"op":"subscribe","id":1,"series":")") + bad + "\"}"),
              stream_error_code::bad_series)
        << bad;
  }
  for (const char* bad : {"0s", "2d", "1x", "m", "500ms", "-1m"}) {
    EXPECT_EQ(error_of(std::string(R"({"op":"subscribe","id":1,"series":"a/b","candles":")") + bad +
                       "\"}"),
              stream_error_code::bad_interval)
        << bad;
  }
  EXPECT_EQ(error_of(R"({"op":"subscribe","id":1,"series":"a/b","snapshot":10001})"),
            stream_error_code::snapshot_too_large);
  EXPECT_EQ(error_of(R"({"op":"subscribe","id":1,"series":"a/b","fields":"bid"})"),
            stream_error_code::bad_field);
  EXPECT_EQ(error_of(R"({"op":"subscribe","id":1,"series":"a/b","batch":99999})"),
            stream_error_code::bad_request);
  EXPECT_EQ(error_of(R"({"op":"unsubscribe"})"), stream_error_code::bad_request);
}

TEST(StreamMessages, ErrorMessageIsJsonWithTheRequestId) {
  const auto r = parse_client_message(R"({"op":"subscribe","id":3,"series":"x"})", kCap);
  const auto j = nlohmann::json::parse(error_message(std::get<stream_error>(r)));
  EXPECT_EQ(j["type"], "error");
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["code"], "bad_series");
}

TEST(StreamMessages, ChangeBodyCompletesAPointMessage) {
  const std::uint64_t words[] = {std::bit_cast<std::uint64_t>(1.5), 42};
  core::series s("quotes", "EUR\"USD",
                 {{"bid", core::field_kind::float64}, {"n", core::field_kind::int64}}, words, 4);
  std::string m;
  append_message_head(m, "point", 9);
  append_change_body(m, s, 12, 1'700'000'000'000'000'000, words);
  const auto j = nlohmann::json::parse(m);
  EXPECT_EQ(j["type"], "point");
  EXPECT_EQ(j["id"], 9);
  EXPECT_EQ(j["series"], "quotes/EUR\"USD");
  EXPECT_EQ(j["seq"], 12);
  EXPECT_EQ(j["time"], 1'700'000'000'000'000'000);
  EXPECT_EQ(j["bid"], 1.5);
  EXPECT_EQ(j["n"], 42);
  std::string d;
  append_message_head(d, "delete", 9);
  append_change_body(d, s, 13, 5, nullptr);
  EXPECT_EQ(nlohmann::json::parse(d)["seq"], 13);
}

}  // namespace
}  // namespace tickring::protocol
