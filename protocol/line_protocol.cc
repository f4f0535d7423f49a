#include "protocol/line_protocol.h"

#include <cassert>
#include <cstring>

#include "protocol/line_protocol_error.h"
#include "protocol/line_protocol_fast_path.h"
#include "protocol/line_protocol_scanner.h"

namespace tickring::protocol {
namespace {

using code = parse_error_code;
using detail::decimal;
using detail::line_scanner;
using detail::name_token;
using detail::quoted;

// Comparing the raw key is enough: a key written with an escape unescapes to a name containing
// ',', '=' or ' ', which is neither of these.
bool is_symbol_tag(std::string_view raw_key) noexcept {
  return raw_key == "sym" || raw_key == "symbol";
}

// measurement[,key=value...] and the spaces after it. Leaves the scanner on the first field.
bool parse_series_key(line_scanner& s, parsed_line& out) {
  name_token token;
  if (!s.scan_name(detail::kMeasurement, token)) return false;
  if (token.raw.empty()) {
    return s.fail(token.begin, code::missing_measurement, "missing measurement name before ','");
  }
  out.measurement = s.unescape(token, detail::kMeasurement);
  out.symbol = {};
  std::string_view symbol_key;
  std::array<std::string_view, kMaxTagsPerLine> keys;
  std::size_t tags = 0;
  while (!s.at_end() && s.peek() == ',') {
    s.advance();
    name_token key;
    if (!s.scan_name(detail::kTagKey, key)) return false;
    if (key.raw.empty()) {
      return s.fail(key.begin, code::missing_tag_key, "expected a tag key after ','");
    }
    if (tags == kMaxTagsPerLine) {
      return s.fail(key.begin, code::too_many_tags, "more than ", decimal(kMaxTagsPerLine),
                    " tags");
    }
    // sym=a,sym=b is reported as a symbol given twice, below.
    if (!is_symbol_tag(key.raw)) {
      for (std::size_t i = 0; i < tags; ++i) {
        if (keys[i] == key.raw) {
          return s.fail(key.begin, code::duplicate_tag, "tag ", quoted(key.raw), " given twice");
        }
      }
    }
    keys[tags++] = key.raw;
    if (s.at_end() || s.peek() != '=') {
      return s.fail(s.pos(), code::missing_tag_value, "tag key ", quoted(key.raw),
                    " has no '=value'");
    }
    s.advance();
    name_token value;
    if (!s.scan_name(detail::kTagValue, value)) return false;
    if (value.raw.empty()) {
      return s.fail(value.begin, code::missing_tag_value, "empty value for tag ", quoted(key.raw));
    }
    if (!s.at_end() && s.peek() == '=') {
      return s.fail(s.pos(), code::invalid_character, "unescaped '=' in the value of tag ",
                    quoted(key.raw), " (write it as '\\=')");
    }
    if (is_symbol_tag(key.raw)) {
      if (!symbol_key.empty()) {
        return s.fail(key.begin, code::duplicate_symbol, "symbol given twice (tag ",
                      quoted(symbol_key), " and tag ", quoted(key.raw), ")");
      }
      symbol_key = key.raw;
      out.symbol = s.unescape(value, detail::kTagValue);
    }
  }
  const std::size_t key_end = s.pos();
  s.skip_spaces();
  if (s.at_end()) {
    return s.fail(key_end, code::missing_field_set,
                  "missing field set (a point needs at least one field, as in "
                  "'quotes,sym=EURUSD bid=1.0842')");
  }
  if (symbol_key.empty()) {
    return s.fail(key_end, code::missing_symbol, "missing tag 'sym' or 'symbol'");
  }
  return true;
}

// field=value[,field=value...] [timestamp]
bool parse_fields(line_scanner& s, std::span<field> storage, precision unit, parsed_line& out) {
  std::size_t count = 0;
  std::string_view string_field;  // the first one; it rejects the line once the rest is checked
  std::size_t string_field_offset = 0;
  for (;;) {
    name_token key;
    if (!s.scan_name(detail::kFieldKey, key)) return false;
    if (key.raw.empty()) {
      return s.fail(
          key.begin, code::missing_field_key,
          !s.at_end() && s.peek() == '=' ? "missing field key before '='" : "expected a field key");
    }
    if (s.at_end() || s.peek() != '=') {
      return s.fail(s.pos(), code::missing_field_value, "field key ", quoted(key.raw),
                    " has no '=value'");
    }
    s.advance();
    const std::string_view name = s.unescape(key, detail::kFieldKey);
    // Parsed in place: copying a freshly written field_value as one 16-byte block defeats store
    // forwarding and cost a third of the parse time.
    field_value spare;
    field_value& value = count < storage.size() ? storage[count].value : spare;
    bool is_string = false;
    if (!s.scan_field_value(name, value, is_string)) return false;
    if (is_string) {
      if (string_field.empty()) {
        string_field = name;
        string_field_offset = key.begin;
      }
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        const std::string_view other = storage[i].name;
        // First bytes before memcmp: quote fields (bid, ask, bid_size, ...) differ right there.
        if (other.size() == name.size() && other.front() == name.front() && other == name) {
          return s.fail(key.begin, code::duplicate_field, "field ", quoted(name),
                        " appears more than once");
        }
      }
      if (count == storage.size()) {
        return s.fail(key.begin, code::too_many_fields, "more than ", decimal(kMaxFieldsPerLine),
                      " fields in one line");
      }
      storage[count++].name = name;
    }
    if (s.at_end() || s.peek() == ' ') break;
    s.advance();  // the ',' before the next field
  }
  out.timestamp.reset();
  if (!s.scan_timestamp(unit, out.timestamp)) return false;
  if (!string_field.empty()) {
    return s.fail(string_field_offset, code::string_field,
                  "string fields are not supported (field ", quoted(string_field), ")");
  }
  out.fields = storage.first(count);
  return true;
}

}  // namespace

namespace detail {

bool general_path_agrees(std::string_view line, precision unit, const parsed_line& fast) {
  std::string scratch;
  parse_error err;
  std::array<field, kMaxFieldsPerLine> storage{};
  parsed_line general;
  line_scanner s(line, 1, scratch, err);
  s.skip_spaces();
  if (!parse_series_key(s, general) || !parse_fields(s, storage, unit, general)) return false;
  if (general.measurement.data() != fast.measurement.data() ||
      general.measurement.size() != fast.measurement.size() ||
      general.symbol.data() != fast.symbol.data() || general.symbol.size() != fast.symbol.size() ||
      general.timestamp != fast.timestamp || general.fields.size() != fast.fields.size()) {
    return false;
  }
  for (std::size_t i = 0; i < fast.fields.size(); ++i) {
    const field& a = general.fields[i];
    const field& b = fast.fields[i];
    // The value's unused bytes may differ (a bool sets one byte): compare the members in use.
    const bool same_value = a.value.type == b.value.type &&
                            (a.value.type == field_type::boolean
                                 ? a.value.b == b.value.b
                                 : std::memcmp(&a.value.u, &b.value.u, sizeof a.value.u) == 0);
    if (a.name.data() != b.name.data() || a.name.size() != b.name.size() || !same_value) {
      return false;
    }
  }
  return true;
}

}  // namespace detail

parse_status line_parser::parse(std::string_view line, std::size_t line_number, parsed_line& out,
                                parse_error& err) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t start = 0;
  while (start < line.size() && line[start] == ' ')
    ++start;
  if (start == line.size() || line[start] == '#') return parse_status::skip;
  if (line.size() <= kMaxLineBytes &&
      detail::parse_plain_line(line, start, fields_, precision_, out)) [[likely]] {
    assert(detail::general_path_agrees(line, precision_, out));
    return parse_status::ok;
  }
  // The general path: escapes, strings, errors and their messages.
  line_scanner s(line, line_number, scratch_, err);
  s.skip_spaces();
  if (line.size() > kMaxLineBytes) {
    s.fail(0, code::line_too_long, "line of ", decimal(line.size()),
           " bytes is longer than the limit of ", decimal(kMaxLineBytes));
    return parse_status::error;
  }
  const bool ok = parse_series_key(s, out) && parse_fields(s, fields_, precision_, out);
  return ok ? parse_status::ok : parse_status::error;
}

}  // namespace tickring::protocol
