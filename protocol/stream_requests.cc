// The client side of the stream's messages: parsing requests (nlohmann_json) and writing
// error answers. Kept apart from the server-message writers so that the fuzz target builds
// from this file and json_text.cc alone.
#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/json_text.h"
#include "protocol/stream_messages.h"

namespace tickring::protocol {
namespace {

using json = nlohmann::json;

// A field list longer than a series can have is a mistake, not a request.
constexpr std::size_t kMaxRequestedFields = core::kMaxFieldsPerSeries;
// Ids are the client's; keep them exact in a double (JavaScript clients).
constexpr std::int64_t kMaxId = (std::int64_t{1} << 53) - 1;

stream_error fail(stream_error_code c, std::string m, std::optional<std::int64_t> id = {}) {
  return stream_error{c, std::move(m), id};
}

std::optional<std::int64_t> read_id(const json& j) {
  const auto it = j.find("id");
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<std::int64_t>();
  if (v < 0 || v > kMaxId) return std::nullopt;
  return v;
}

std::variant<client_message, stream_error> parse_subscribe(const json& j,
                                                           std::size_t max_snapshot) {
  subscribe_request r;
  const auto id = read_id(j);
  if (!id) {
    return fail(stream_error_code::bad_request,
                "'subscribe' needs an integer 'id' from 0 to 2^53-1");
  }
  r.id = *id;
  const auto s = j.find("series");
  if (s == j.end() || !s->is_string()) {
    return fail(stream_error_code::bad_series,
                "'subscribe' needs 'series' as \"measurement/symbol\" or \"measurement/*\"", id);
  }
  auto spec = parse_series_spec(s->get_ref<const std::string&>());
  if (!spec) {
    return fail(stream_error_code::bad_series,
                "malformed 'series': use \"measurement/symbol\" or \"measurement/*\"", id);
  }
  r.series = std::move(*spec);
  if (const auto n = j.find("snapshot"); n != j.end()) {
    if (!n->is_number_integer() || n->get<std::int64_t>() < 0) {
      return fail(stream_error_code::bad_request, "'snapshot' must be a non-negative integer", id);
    }
    const auto v = n->get<std::uint64_t>();
    if (v > max_snapshot) {
      return fail(stream_error_code::snapshot_too_large,
                  "'snapshot' of " + std::to_string(v) + " is over the limit of " +
                      std::to_string(max_snapshot),
                  id);
    }
    r.snapshot = static_cast<std::size_t>(v);
  }
  if (const auto k = j.find("since_seq"); k != j.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<std::int64_t>() < 0) {
      return fail(stream_error_code::bad_request, "'since_seq' must be a non-negative integer", id);
    }
    r.since_seq = k->get<std::uint64_t>();
  }
  if (const auto c = j.find("candles"); c != j.end() && !c->is_null()) {
    const auto interval =
        c->is_string() ? parse_candle_interval(c->get_ref<const std::string&>()) : std::nullopt;
    if (!interval) {
      return fail(stream_error_code::bad_interval,
                  "invalid 'candles': use <n>s, <n>m, <n>h or <n>d from 1s to 1d", id);
    }
    r.candle_interval = *interval;
    r.candle_text = c->get<std::string>();
  }
  if (const auto b = j.find("batch"); b != j.end() && !b->is_null()) {
    if (b->is_boolean()) {
      r.batch = b->get<bool>() ? kDefaultBatch : 0;
    } else if (b->is_number_integer() && b->get<std::int64_t>() >= 0 &&
               b->get<std::int64_t>() <= static_cast<std::int64_t>(kMaxBatch)) {
      r.batch = b->get<std::size_t>();
    } else {
      return fail(
          stream_error_code::bad_request,
          "'batch' must be true, false or an integer from 0 to " + std::to_string(kMaxBatch), id);
    }
    if (r.batch == 1) r.batch = 0;
  }
  if (const auto f = j.find("fields"); f != j.end() && !f->is_null()) {
    if (!f->is_array() || f->size() > kMaxRequestedFields) {
      return fail(stream_error_code::bad_field,
                  "'fields' must be an array of at most " + std::to_string(kMaxRequestedFields) +
                      " field names",
                  id);
    }
    for (const auto& name : *f) {
      if (!name.is_string()) {
        return fail(stream_error_code::bad_field, "'fields' must hold strings", id);
      }
      r.fields.push_back(name.get<std::string>());
    }
  }
  return client_message{std::move(r)};
}

}  // namespace

std::string_view to_string(stream_error_code c) noexcept {
  switch (c) {
    case stream_error_code::invalid_json:
      return "invalid_json";
    case stream_error_code::bad_request:
      return "bad_request";
    case stream_error_code::unknown_op:
      return "unknown_op";
    case stream_error_code::bad_series:
      return "bad_series";
    case stream_error_code::bad_interval:
      return "bad_interval";
    case stream_error_code::bad_field:
      return "bad_field";
    case stream_error_code::snapshot_too_large:
      return "snapshot_too_large";
    case stream_error_code::duplicate_id:
      return "duplicate_id";
    case stream_error_code::unknown_id:
      return "unknown_id";
    case stream_error_code::too_many_subscriptions:
      return "too_many_subscriptions";
    case stream_error_code::binary_frame:
      return "binary_frame";
  }
  return "unknown";
}

std::optional<series_spec> parse_series_spec(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return {};
  const auto m = text.substr(0, slash);
  const auto s = text.substr(slash + 1);
  if (s.find('/') != std::string_view::npos) return {};
  if (s == "*") return series_spec{std::string(m), {}};
  return series_spec{std::string(m), std::string(s)};
}

std::optional<core::time_ns> parse_candle_interval(std::string_view v) {
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  const std::string_view unit(p, static_cast<std::size_t>(v.data() + v.size() - p));
  core::time_ns mult = 0;
  if (unit == "s") mult = 1'000'000'000LL;
  if (unit == "m") mult = 60'000'000'000LL;
  if (unit == "h") mult = 3'600'000'000'000LL;
  if (unit == "d") mult = 86'400'000'000'000LL;
  if (ec != std::errc() || n <= 0 || mult == 0 || n > core::kMaxCandleInterval / mult ||
      n * mult < core::kMinCandleInterval) {
    return std::nullopt;
  }
  return n * mult;
}

std::variant<client_message, stream_error> parse_client_message(std::string_view text,
                                                                std::size_t max_snapshot) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(stream_error_code::invalid_json, "the message is not JSON");
  if (!j.is_object()) {
    return fail(stream_error_code::bad_request, "a message must be a JSON object with an 'op'");
  }
  const auto op = j.find("op");
  if (op == j.end() || !op->is_string()) {
    return fail(stream_error_code::bad_request, "a message needs a string 'op'", read_id(j));
  }
  const auto& name = op->get_ref<const std::string&>();
  if (name == "subscribe") return parse_subscribe(j, max_snapshot);
  if (name == "unsubscribe") {
    const auto id = read_id(j);
    if (!id) return fail(stream_error_code::bad_request, "'unsubscribe' needs an integer 'id'");
    return client_message{unsubscribe_request{*id}};
  }
  if (name == "ping") return client_message{ping_request{}};
  return fail(stream_error_code::unknown_op, "unknown op; use subscribe, unsubscribe or ping",
              read_id(j));
}

std::string error_message(const stream_error& e) {
  std::string out = "{\"type\":\"error\",";
  if (e.id) {
    out += "\"id\":";
    append_json_number(out, *e.id);
    out += ',';
  }
  out += "\"code\":";
  append_json_string(out, to_string(e.code));
  out += ",\"message\":";
  append_json_string(out, e.message);
  out += '}';
  return out;
}

}  // namespace tickring::protocol
