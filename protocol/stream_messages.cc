#include "protocol/stream_messages.h"

#include "protocol/json_text.h"
#include "protocol/point_format.h"

namespace tickring::protocol {
double candle_fields::price_of(const core::series& s, const std::uint64_t* w) const {
  const auto& f = s.fields();
  auto value = [&](int idx) {
    const auto i = static_cast<std::size_t>(idx);
    return field_as_double(f[i].kind, w[i]);
  };
  return price >= 0 ? value(price) : (value(bid) + value(ask)) / 2;
}

double candle_fields::volume_of(const core::series& s, const std::uint64_t* w) const {
  if (volume < 0) return 0.0;
  const auto i = static_cast<std::size_t>(volume);
  return field_as_double(s.fields()[i].kind, w[i]);
}

std::optional<candle_fields> choose_candle_fields(const core::series& s,
                                                  std::optional<std::string_view> field) {
  candle_fields c;
  c.bid = s.field_index("bid");
  c.ask = s.field_index("ask");
  if (field) {
    c.price = s.field_index(*field);
    if (c.price < 0) return std::nullopt;
    c.name = *field;
  } else if ((c.price = s.field_index("price")) >= 0) {
    c.name = "price";
  } else if (c.bid >= 0 && c.ask >= 0) {
    c.name = "mid";
  } else {
    c.price = 0;
    c.name = s.fields()[0].name;
  }
  c.volume = s.field_index("size");
  if (c.volume < 0) c.volume = s.field_index("volume");
  return c;
}

std::string series_name(const core::series& s) {
  return s.measurement() + "/" + s.symbol();
}

void append_message_head(std::string& out, std::string_view type, std::int64_t id) {
  out += "{\"type\":\"";
  out += type;
  out += "\",\"id\":";
  append_json_number(out, id);
  out += ',';
}

namespace {
void append_body_head(std::string& out, const core::series& s, core::seq_no seq,
                      core::time_ns time) {
  out += "\"series\":";
  append_json_string(out, series_name(s));
  out += ",\"seq\":";
  append_json_number(out, static_cast<std::uint64_t>(seq));
  out += ",\"time\":";
  append_json_number(out, static_cast<std::int64_t>(time));
}
void append_field(std::string& out, const core::series& s, std::size_t i,
                  const std::uint64_t* words) {
  out += ',';
  append_json_string(out, s.fields()[i].name);
  out += ':';
  append_field_json(out, s.fields()[i].kind, words[i]);
}
}  // namespace

void append_change_body(std::string& out, const core::series& s, core::seq_no seq,
                        core::time_ns time, const std::uint64_t* words) {
  append_body_head(out, s, seq, time);
  if (words != nullptr) {
    for (std::size_t i = 0; i < s.field_count(); ++i)
      append_field(out, s, i, words);
  }
  out += '}';
}

void append_change_body(std::string& out, const core::series& s, core::seq_no seq,
                        core::time_ns time, const std::uint64_t* words,
                        std::span<const std::size_t> field_indexes) {
  append_body_head(out, s, seq, time);
  if (words != nullptr) {
    for (const std::size_t i : field_indexes)
      append_field(out, s, i, words);
  }
  out += '}';
}

void append_point_object(std::string& out, const core::series& s, core::time_ns time,
                         const std::uint64_t* words, std::span<const std::size_t> field_indexes) {
  out += "{\"time\":";
  append_json_number(out, static_cast<std::int64_t>(time));
  for (const std::size_t i : field_indexes)
    append_field(out, s, i, words);
  out += '}';
}

void append_bar_object(std::string& out, const core::candle& c) {
  out += "{\"time\":";
  append_json_number(out, static_cast<std::int64_t>(c.start / 1'000'000'000));
  out += ",\"open\":";
  append_json_number(out, c.open);
  out += ",\"high\":";
  append_json_number(out, c.high);
  out += ",\"low\":";
  append_json_number(out, c.low);
  out += ",\"close\":";
  append_json_number(out, c.close);
  out += ",\"volume\":";
  append_json_number(out, c.volume);
  out += ",\"ticks\":";
  append_json_number(out, static_cast<std::uint64_t>(c.ticks));
  out += '}';
}

}  // namespace tickring::protocol
