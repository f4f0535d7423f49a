// The WebSocket stream's messages (docs/stream.md): parsing what a client sends, and writing
// what the server sends, as JSON text.
//
// Client messages are small (64 KiB at most) and rare, so they are parsed with nlohmann_json;
// every parse failure becomes a stream_error with a code word and a message a person can act
// on, never an exception. Server messages are written straight into strings with json_text.h:
// a change is written once by the ingest thread (change_body) and shared by every subscriber,
// each of which only prepends its own head ({"type":"point","id":7,).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/candles.h"
#include "core/series.h"

namespace tickring::protocol {

// Every error the stream answers with; the word is the `code` of the error message.
enum class stream_error_code : std::uint8_t {
  invalid_json,
  bad_request,
  unknown_op,
  bad_series,
  bad_interval,
  bad_field,
  snapshot_too_large,
  duplicate_id,
  unknown_id,
  too_many_subscriptions,
  binary_frame,
};
std::string_view to_string(stream_error_code c) noexcept;

struct stream_error {
  stream_error_code code;
  std::string message;
  std::optional<std::int64_t> id;  // the request's id, when it had a readable one
};

// "quotes/EURUSD" or "quotes/*".
struct series_spec {
  std::string measurement;
  std::string symbol;  // empty for a wildcard
  bool wildcard() const { return symbol.empty(); }
  std::string name() const { return measurement + "/" + (wildcard() ? "*" : symbol); }
};
std::optional<series_spec> parse_series_spec(std::string_view text);

struct subscribe_request {
  std::int64_t id = 0;
  series_spec series;
  std::size_t snapshot = 0;
  std::optional<std::uint64_t> since_seq;
  core::time_ns candle_interval = 0;  // 0: points
  std::string candle_text;            // as the client wrote it ("1m")
  std::vector<std::string> fields;    // empty: all
  // Up to this many points per `points` frame (0: one `point` message each).
  std::size_t batch = 0;
};

// `"batch": true` asks for this many points per frame at most; an integer names its own.
inline constexpr std::size_t kDefaultBatch = 256;
inline constexpr std::size_t kMaxBatch = 4096;
struct unsubscribe_request {
  std::int64_t id = 0;
};
struct ping_request {};
using client_message = std::variant<subscribe_request, unsubscribe_request, ping_request>;

// Parses one client text frame. `max_snapshot` caps `snapshot`.
std::variant<client_message, stream_error> parse_client_message(std::string_view text,
                                                                std::size_t max_snapshot);

// "1s", "5m", "1h", "1d": an interval between core::kMinCandleInterval and kMaxCandleInterval.
std::optional<core::time_ns> parse_candle_interval(std::string_view text);

// The fields a candle is made of, by the rules of GET .../candles: `price`, else the mid of
// bid/ask, else the first field; volume from `size` or `volume`.
struct candle_fields {
  int price = -1;  // -1: mid of bid and ask
  int bid = -1;
  int ask = -1;
  int volume = -1;
  std::string name;  // the price's name ("price", "mid", or the first field's)
  double price_of(const core::series& s, const std::uint64_t* words) const;
  double volume_of(const core::series& s, const std::uint64_t* words) const;
};
// `field` chooses the price explicitly; nothing if it is not a field of the series.
std::optional<candle_fields> choose_candle_fields(const core::series& s,
                                                  std::optional<std::string_view> field);

// ---- server -> client ----

// The shared part of a point or delete message, from "series" to the closing brace:
//   "series":"quotes/EURUSD","seq":12,"time":1700000000000000000,"bid":1.08}
// `words` is nullptr for a delete.
void append_change_body(std::string& out, const core::series& s, core::seq_no seq,
                        core::time_ns time, const std::uint64_t* words);
// The same with only the fields whose indexes are given (a subscription with `fields`).
void append_change_body(std::string& out, const core::series& s, core::seq_no seq,
                        core::time_ns time, const std::uint64_t* words,
                        std::span<const std::size_t> field_indexes);
// {"type":"<type>","id":<id>,   — the per-subscription head of a shared body.
void append_message_head(std::string& out, std::string_view type, std::int64_t id);
// One point object {"time":..,"bid":..} for a snapshot.
void append_point_object(std::string& out, const core::series& s, core::time_ns time,
                         const std::uint64_t* words, std::span<const std::size_t> field_indexes);
// One bar in lightweight-charts form: {"time":<s>,"open":..,"high":..,"low":..,"close":..,
// "volume":..,"ticks":..}
void append_bar_object(std::string& out, const core::candle& c);
std::string series_name(const core::series& s);
std::string error_message(const stream_error& e);

}  // namespace tickring::protocol
