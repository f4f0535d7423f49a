// libFuzzer target for protocol/line_protocol.h. Built with clang by tests/fuzz/run_fuzz.sh
// (ASan + UBSan); not part of the CMake build, which may be gcc.
//
// The input is split into lines the way the TCP path splits a read, and every line is parsed by
// two parsers with different histories. Beyond "no crash, no sanitizer report" it checks what the
// header promises, and aborts (a crash to libFuzzer) when a promise is broken:
// - ok: every view lies inside the input line or the parser's scratch buffer; names are non-empty
//   and free of control bytes; 1..kMaxFieldsPerLine fields with distinct names; floats finite;
// - error: offset within the line, reason non-empty, one line of printable ASCII, bounded;
// - skip: the line is blank or a comment;
// - the result does not depend on what the parser parsed before (reuse leaks no state);
// - the hand-written number parsers agree with std::from_chars on the input's first line.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "protocol/line_protocol.h"
#include "protocol/line_protocol_values.h"

namespace {

using namespace tickring::protocol;

// Longest reason worth allowing: a few quoted excerpts plus fixed text.
constexpr std::size_t kMaxReasonBytes = 512;

[[noreturn]] void violated(const char* what, std::string_view line) {
  std::fprintf(stderr, "line protocol invariant violated: %s\nline (%zu bytes): %.*s\n", what,
               line.size(), static_cast<int>(line.size()), line.data());
  std::abort();
}

void check(bool holds, const char* what, std::string_view line) {
  if (!holds) violated(what, line);
}

bool within(std::string_view inner, std::string_view outer) {
  const std::less_equal<const char*> le;
  return le(outer.data(), inner.data()) &&
         le(inner.data() + inner.size(), outer.data() + outer.size());
}

bool printable_ascii(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool clean_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return false;
  }
  return true;
}

void check_view(std::string_view view, std::string_view line, const line_parser& parser) {
  check(within(view, line) || within(view, parser.scratch()), "view outside line and scratch",
        line);
  check(clean_name(view), "empty name or control byte in name", line);
}

void check_ok(const parsed_line& out, std::string_view line, const line_parser& parser) {
  check_view(out.measurement, line, parser);
  check_view(out.symbol, line, parser);
  check(!out.fields.empty() && out.fields.size() <= kMaxFieldsPerLine, "field count", line);
  for (std::size_t i = 0; i < out.fields.size(); ++i) {
    const field& f = out.fields[i];
    check_view(f.name, line, parser);
    for (std::size_t j = 0; j < i; ++j) {
      check(out.fields[j].name != f.name, "duplicate field name accepted", line);
    }
    switch (f.value.type) {
      case field_type::float64:
        check(std::isfinite(f.value.f), "non-finite float", line);
        break;
      case field_type::boolean:
        check(f.value.b == true || f.value.b == false, "bool", line);
        break;
      case field_type::int64:
      case field_type::uint64:
        break;
      default:
        violated("unknown field type", line);
    }
  }
}

void check_error(const parse_error& err, std::size_t line_no, std::string_view line) {
  check(err.line == line_no, "error line number", line);
  check(err.offset <= line.size(), "error offset past the end of the line", line);
  check(!err.reason.empty() && err.reason.size() <= kMaxReasonBytes, "reason length", line);
  check(printable_ascii(err.reason), "reason not printable ASCII", line);
  check(to_string(err.code) != "unknown", "unknown error code", line);
}

void check_skip(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t first = line.find_first_not_of(' ');
  check(first == std::string_view::npos || line[first] == '#', "skipped a non-blank line", line);
}

bool same(const parsed_line& a, const parsed_line& b) {
  if (a.measurement != b.measurement || a.symbol != b.symbol || a.timestamp != b.timestamp ||
      a.fields.size() != b.fields.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.fields.size(); ++i) {
    const field_value& x = a.fields[i].value;
    const field_value& y = b.fields[i].value;
    if (a.fields[i].name != b.fields[i].name || x.type != y.type) return false;
    const bool equal = x.type == field_type::float64  ? x.f == y.f
                       : x.type == field_type::int64  ? x.i == y.i
                       : x.type == field_type::uint64 ? x.u == y.u
                                                      : x.b == y.b;
    if (!equal) return false;
  }
  return true;
}

// Integers: the grammar is the same as from_chars', so the results must match exactly. Floats:
// whatever parse_float accepts, from_chars must read to the same bits (it accepts more: inf, nan).
template <typename T>
void check_integer(std::string_view token, detail::scalar_status status, T value) {
  T reference = 0;
  const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), reference);
  if (ec == std::errc{} && ptr == token.data() + token.size()) {
    check(status == detail::scalar_status::ok && value == reference, "integer differs", token);
  } else if (ec == std::errc::result_out_of_range && ptr == token.data() + token.size()) {
    check(status == detail::scalar_status::out_of_range, "integer range differs", token);
  } else {
    check(status == detail::scalar_status::invalid, "integer validity differs", token);
  }
}

void check_numbers(std::string_view input) {
  const std::string_view token = input.substr(0, std::min(input.find('\n'), input.size()));
  std::int64_t i = 0;
  check_integer(token, detail::parse_int(token, i), i);
  std::uint64_t u = 0;
  check_integer(token, detail::parse_uint(token, u), u);
  double f = 0;
  if (detail::parse_float(token, f) == detail::scalar_status::ok) {
    double reference = 0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), reference);
    check(ec == std::errc{} && ptr == token.data() + token.size() &&
              std::bit_cast<std::uint64_t>(f) == std::bit_cast<std::uint64_t>(reference),
          "float differs from from_chars", token);
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Both parsers live across inputs, as a session's parser lives across reads; `fresh` sees only
  // one line per input so its history differs from `reused`.
  static line_parser reused;
  static line_parser fresh;
  const auto unit = static_cast<precision>(size % 4);  // vary the precision cheaply
  reused.set_precision(unit);
  fresh.set_precision(unit);

  check_numbers(input);

  const std::size_t partial = for_each_line(input, [](std::string_view) {});
  check(partial <= size, "consumed more than the buffer", input);
  check(partial == 0 || input[partial - 1] == '\n', "consumed past the last newline", input);
  check(input.substr(partial).find('\n') == std::string_view::npos, "left a newline behind", input);

  std::size_t line_no = 0;
  const std::size_t consumed = for_each_line(
      input,
      [&](std::string_view line) {
        ++line_no;
        parsed_line out;
        parse_error err;
        const parse_status status = reused.parse(line, line_no, out, err);
        switch (status) {
          case parse_status::ok:
            check_ok(out, line, reused);
            break;
          case parse_status::error:
            check_error(err, line_no, line);
            break;
          case parse_status::skip:
            check_skip(line);
            break;
        }
        if (line_no == 1) {
          parsed_line again;
          parse_error err2;
          check(fresh.parse(line, line_no, again, err2) == status, "status depends on history",
                line);
          if (status == parse_status::ok)
            check(same(out, again), "result depends on history", line);
          if (status == parse_status::error) {
            check(err.offset == err2.offset && err.code == err2.code && err.reason == err2.reason,
                  "error depends on history", line);
          }
        }
      },
      /*end_of_input=*/true);
  check(consumed == size, "end_of_input did not consume everything", input);
  return 0;
}
