#include "protocol/line_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "protocol/line_protocol_bytes.h"
#include "protocol/line_protocol_fast_path.h"
#include "protocol/line_protocol_values.h"

// Counts heap allocations so a test can pin "no allocation per line once warm".
namespace {
std::size_t g_allocations = 0;
}  // namespace

// gcc inlines these replacements into callers and then mistakes free() for a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace tickring::protocol {

// Found by argument-dependent lookup: gtest prints codes by name instead of as raw bytes.
void PrintTo(parse_error_code code, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << to_string(code);
}

namespace {

// Parses one line with a fresh parser. Owns a copy of the text and the parser, so the views in
// `line` stay valid for the whole test.
struct parsed {
  std::string text;
  line_parser parser;
  parsed_line line;
  parse_error error;
  parse_status status = parse_status::error;

  explicit parsed(std::string_view input, precision unit = precision::ns)
      : text(input), parser(unit) {
    status = parser.parse(text, 1, line, error);
  }
  bool ok() const { return status == parse_status::ok; }
  const field_value& value(std::string_view name) const {
    for (const field& f : line.fields) {
      if (f.name == name) return f.value;
    }
    ADD_FAILURE() << "no field " << name;
    static const field_value none = field_value::of_bool(false);
    return none;
  }
};

void expect_error(std::string_view text, parse_error_code code, std::string_view reason_part = {}) {
  const parsed p(text);
  ASSERT_EQ(p.status, parse_status::error) << text;
  EXPECT_EQ(p.error.code, code) << text << " -> " << p.error.reason;
  EXPECT_LE(p.error.offset, text.size());
  EXPECT_NE(p.error.reason.find(reason_part), std::string::npos)
      << "reason '" << p.error.reason << "' lacks '" << reason_part << "'";
}

double float_of(std::string_view text) {
  const std::string line = "m,sym=a x=" + std::string(text);
  const parsed p(line);
  EXPECT_TRUE(p.ok()) << line << ": " << p.error.reason;
  EXPECT_EQ(p.value("x").type, field_type::float64);
  return p.value("x").f;
}

TEST(LineProtocol, TypicalQuoteLine) {
  const parsed p(
      "quotes,sym=EURUSD bid=1.0842,ask=1.0843,bid_size=1000000i,ask_size=750000i "
      "1700000000000000000");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.measurement, "quotes");
  EXPECT_EQ(p.line.symbol, "EURUSD");
  ASSERT_EQ(p.line.fields.size(), 4u);
  EXPECT_EQ(p.line.fields[0].name, "bid");
  EXPECT_DOUBLE_EQ(p.line.fields[0].value.f, 1.0842);
  EXPECT_EQ(p.line.fields[3].name, "ask_size");
  EXPECT_EQ(p.line.fields[3].value.type, field_type::int64);
  EXPECT_EQ(p.line.fields[3].value.i, 750000);
  EXPECT_EQ(p.line.timestamp, 1700000000000000000);
}

TEST(LineProtocol, SpecExampleWithTwoTagsAndTimestamp) {
  const parsed p("myMeasurement,tag1=value1,sym=value2 fieldKey=1.5 1556813561098000000");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.measurement, "myMeasurement");
  EXPECT_EQ(p.line.symbol, "value2");
  EXPECT_EQ(p.line.timestamp, 1556813561098000000);
}

TEST(LineProtocol, TimestampIsOptional) {
  const parsed p("m,sym=a x=1");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.line.timestamp.has_value());
}

TEST(LineProtocol, NegativeTimestampBeforeEpoch) {
  const parsed p("m,sym=a x=1 -1000");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.timestamp, -1000);
}

TEST(LineProtocol, SymbolTagNamedSymbol) {
  const parsed p("trades,symbol=BTC-USD price=42000.5");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "BTC-USD");
}

TEST(LineProtocol, OtherTagsAreValidatedThenIgnored) {
  const parsed p("quotes,venue=LMAX,sym=EURUSD,region=eu bid=1.1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "EURUSD");
  expect_error("quotes,venue=,sym=EURUSD bid=1.1", parse_error_code::missing_tag_value, "venue");
}

// Escapes, one rule per test.

TEST(LineProtocol, EscapedCommaInMeasurement) {
  const parsed p(R"(my\,quotes,sym=a x=1)");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.measurement, "my,quotes");
}

TEST(LineProtocol, EscapedSpaceInMeasurement) {
  const parsed p(R"(my\ quotes,sym=a x=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.measurement, "my quotes");
}

TEST(LineProtocol, EqualsSignInMeasurementNeedsNoEscape) {
  const parsed p("a=b,sym=a x=1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.measurement, "a=b");
}

TEST(LineProtocol, EscapedCommaInTagValue) {
  const parsed p(R"(m,sym=a\,b x=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "a,b");
}

TEST(LineProtocol, EscapedEqualsInTagValue) {
  const parsed p(R"(m,sym=a\=b x=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "a=b");
}

TEST(LineProtocol, EscapedSpaceInTagValue) {
  const parsed p(R"(m,sym=EUR\ USD x=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "EUR USD");
}

TEST(LineProtocol, EscapedSpecialsInTagKey) {
  const parsed p(R"(m,my\ tag\,x\=y=v,sym=a x=1)");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.symbol, "a");
}

TEST(LineProtocol, EscapedCommaInFieldKey) {
  const parsed p(R"(m,sym=a b\,c=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.fields[0].name, "b,c");
}

TEST(LineProtocol, EscapedEqualsInFieldKey) {
  const parsed p(R"(m,sym=a b\=c=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.fields[0].name, "b=c");
}

TEST(LineProtocol, EscapedSpaceInFieldKey) {
  const parsed p(R"(m,sym=a bid\ price=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.fields[0].name, "bid price");
}

TEST(LineProtocol, BackslashBeforeOrdinaryByteIsLiteral) {
  const parsed p(R"(c:\temp,sym=a\b x\y=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.measurement, R"(c:\temp)");
  EXPECT_EQ(p.line.symbol, R"(a\b)");
  EXPECT_EQ(p.line.fields[0].name, R"(x\y)");
}

TEST(LineProtocol, DoubleBackslashThenEscapedSpace) {
  // The first backslash precedes a backslash (not escapable), so it is literal; the second
  // escapes the space.
  const parsed p(R"(a\\ b,sym=s x=1)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.measurement, R"(a\ b)");
}

TEST(LineProtocol, EscapedSpaceDoesNotEndTagSet) {
  // "\ " belongs to the symbol "a b", so no field set follows.
  expect_error(R"(m,sym=a\ b)", parse_error_code::missing_field_set);
}

TEST(LineProtocol, BackslashAtEndOfLineIsLiteral) {
  expect_error(R"(m,sym=a\)", parse_error_code::missing_field_set);
}

TEST(LineProtocol, EscapedNamesUseScratchBuffer) {
  const parsed p(R"(my\ m,sym=a\ b c\,d=1)");
  ASSERT_TRUE(p.ok());
  const std::string_view scratch = p.parser.scratch();
  for (std::string_view v : {p.line.measurement, p.line.symbol, p.line.fields[0].name}) {
    EXPECT_GE(v.data(), scratch.data());
    EXPECT_LE(v.data() + v.size(), scratch.data() + scratch.size());
  }
}

TEST(LineProtocol, UnescapedNamesPointIntoInput) {
  const std::string input = "quotes,sym=EURUSD bid=1";
  line_parser parser;
  parsed_line out;
  parse_error err;
  ASSERT_EQ(parser.parse(input, 1, out, err), parse_status::ok);
  EXPECT_EQ(out.measurement.data(), input.data());
  EXPECT_EQ(out.symbol.data(), input.data() + 11);
  EXPECT_EQ(out.fields[0].name.data(), input.data() + 18);
}

// Strings: recognised fully, then the line is rejected.

TEST(LineProtocol, StringFieldRejectsLine) {
  const parsed p(R"(m,sym=a note="hello",x=1)");
  ASSERT_EQ(p.status, parse_status::error);
  EXPECT_EQ(p.error.code, parse_error_code::string_field);
  EXPECT_EQ(p.error.reason, "string fields are not supported (field 'note')");
  EXPECT_EQ(p.error.offset, 8u);
}

TEST(LineProtocol, StringWithEscapedQuoteCommaAndSpaceIsScannedWhole) {
  // A naive split on ',' or ' ' would report a bogus syntax error inside the string.
  const parsed p(R"(m,sym=a s="a \"b\", c=d \\",x=1 123)");
  EXPECT_EQ(p.error.code, parse_error_code::string_field) << p.error.reason;
}

TEST(LineProtocol, StringEndingInEscapedBackslash) {
  const parsed p(R"(m,sym=a s="C:\\" 5)");
  EXPECT_EQ(p.error.code, parse_error_code::string_field) << p.error.reason;
}

TEST(LineProtocol, SyntaxErrorAfterStringFieldWins) {
  expect_error(R"(m,sym=a s="x",y=1.x)", parse_error_code::invalid_float, "'y'");
}

TEST(LineProtocol, UnterminatedString) {
  expect_error(R"(m,sym=a s="abc,x=1)", parse_error_code::unterminated_string, "'s'");
  expect_error(R"(m,sym=a s="abc\")", parse_error_code::unterminated_string);
}

TEST(LineProtocol, TextAfterClosingQuote) {
  expect_error(R"(m,sym=a s="abc"x)", parse_error_code::invalid_value);
}

// Field types.

TEST(LineProtocol, FloatForms) {
  EXPECT_DOUBLE_EQ(float_of("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(float_of("-1.5"), -1.5);
  EXPECT_DOUBLE_EQ(float_of(".5"), 0.5);
  EXPECT_DOUBLE_EQ(float_of("5."), 5.0);
  EXPECT_DOUBLE_EQ(float_of("1e3"), 1000.0);
  EXPECT_DOUBLE_EQ(float_of("1E+3"), 1000.0);
  EXPECT_DOUBLE_EQ(float_of("-1.5E-10"), -1.5e-10);
  EXPECT_DOUBLE_EQ(float_of("1.7976931348623157e308"), std::numeric_limits<double>::max());
}

TEST(LineProtocol, IntegerWithoutSuffixIsFloat) {
  EXPECT_DOUBLE_EQ(float_of("42"), 42.0);
  EXPECT_DOUBLE_EQ(float_of("-7"), -7.0);
}

TEST(LineProtocol, SignedIntegerSuffix) {
  const parsed p("m,sym=a a=1i,b=-9223372036854775808i,c=9223372036854775807i");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.value("a").type, field_type::int64);
  EXPECT_EQ(p.value("b").i, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(p.value("c").i, std::numeric_limits<std::int64_t>::max());
}

TEST(LineProtocol, UnsignedIntegerSuffix) {
  const parsed p("m,sym=a a=0u,b=18446744073709551615u");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.value("a").type, field_type::uint64);
  EXPECT_EQ(p.value("b").u, std::numeric_limits<std::uint64_t>::max());
}

TEST(LineProtocol, BooleanSpellings) {
  for (const char* t : {"t", "T", "true", "True", "TRUE"}) {
    const parsed p(std::string("m,sym=a x=") + t);
    ASSERT_TRUE(p.ok()) << t;
    EXPECT_EQ(p.value("x").type, field_type::boolean);
    EXPECT_TRUE(p.value("x").b) << t;
  }
  for (const char* f : {"f", "F", "false", "False", "FALSE"}) {
    const parsed p(std::string("m,sym=a x=") + f);
    ASSERT_TRUE(p.ok()) << f;
    EXPECT_FALSE(p.value("x").b) << f;
  }
}

TEST(LineProtocol, InvalidBooleanSpellings) {
  expect_error("m,sym=a x=tRUE", parse_error_code::invalid_boolean, "'tRUE'");
  expect_error("m,sym=a x=fals", parse_error_code::invalid_boolean);
  expect_error("m,sym=a x=yes", parse_error_code::invalid_value);
}

TEST(LineProtocol, BadNumbers) {
  expect_error("m,sym=a bid=abc", parse_error_code::invalid_value, "'abc'");
  expect_error("m,sym=a bid=1.2.3", parse_error_code::invalid_float, "'1.2.3'");
  expect_error("m,sym=a bid=1e", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=-", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=.", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=+1", parse_error_code::invalid_value);
  expect_error("m,sym=a bid=-inf", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=-nan", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=0x10", parse_error_code::invalid_float);
  expect_error("m,sym=a bid=1.5i", parse_error_code::invalid_integer);
  expect_error("m,sym=a bid=-1u", parse_error_code::invalid_unsigned);
  expect_error("m,sym=a bid=1_000", parse_error_code::invalid_float);
}

TEST(LineProtocol, NumbersOutOfRange) {
  expect_error("m,sym=a x=9223372036854775808i", parse_error_code::value_out_of_range);
  expect_error("m,sym=a x=18446744073709551616u", parse_error_code::value_out_of_range);
  expect_error("m,sym=a x=1e400", parse_error_code::value_out_of_range);
  expect_error("m,sym=a x=1e-400", parse_error_code::value_out_of_range);  // underflows to 0
  EXPECT_DOUBLE_EQ(float_of("1e-310"), 1e-310);                            // subnormal is fine
}

TEST(LineProtocol, FloatFastPathRoundsLikeFromChars) {
  // parse_float takes a shortcut for short mantissas and small exponents; it must give the same
  // correctly rounded double as from_chars, bit for bit, on both sides of the shortcut's limits.
  std::mt19937_64 rng(42);
  for (int n = 0; n < 200'000; ++n) {
    const int int_digits = static_cast<int>(rng() % 12);
    const int frac_digits = static_cast<int>(rng() % 12);
    std::string text = rng() % 2 ? "-" : "";
    for (int i = 0; i < int_digits; ++i)
      text += static_cast<char>('0' + rng() % 10);
    if (frac_digits > 0 || int_digits == 0) {
      text += '.';
      for (int i = 0; i < std::max(frac_digits, 1); ++i)
        text += static_cast<char>('0' + rng() % 10);
    }
    if (rng() % 3 == 0) text += "e" + std::to_string(static_cast<int>(rng() % 61) - 30);
    double fast = 0;
    double reference = 0;
    ASSERT_EQ(detail::parse_float(text, fast), detail::scalar_status::ok) << text;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), reference);
    ASSERT_EQ(ec, std::errc{}) << text;
    ASSERT_EQ(std::bit_cast<std::uint64_t>(fast), std::bit_cast<std::uint64_t>(reference)) << text;
  }
}

TEST(LineProtocol, IntegerDigitsAtEveryPosition) {
  // The 8-digits-at-a-time path must reject a bad byte wherever it sits.
  for (std::size_t length = 1; length <= 20; ++length) {
    std::string digits(length, '7');
    std::uint64_t value = 0;
    const auto expected = std::from_chars(digits.data(), digits.data() + length, value);
    std::uint64_t parsed = 0;
    const auto status = detail::parse_uint(digits, parsed);
    if (expected.ec == std::errc{}) {
      ASSERT_EQ(status, detail::scalar_status::ok) << digits;
      EXPECT_EQ(parsed, value) << digits;
    } else {
      EXPECT_EQ(status, detail::scalar_status::out_of_range) << digits;
    }
    for (std::size_t bad = 0; bad < length; ++bad) {
      for (const char c : {'/', ':', 'a', ' ', '\0', '\x80', '-'}) {
        std::string text = digits;
        text[bad] = c;
        EXPECT_EQ(detail::parse_uint(text, parsed), detail::scalar_status::invalid) << text;
      }
    }
  }
}

// Lines that are not points.

TEST(LineProtocol, CommentAndBlankLinesAreSkipped) {
  for (const char* line : {"", "   ", "\r", "# a comment", "   # indented comment", "#"}) {
    const parsed p(line);
    EXPECT_EQ(p.status, parse_status::skip) << "'" << line << "'";
  }
}

TEST(LineProtocol, TrailingCarriageReturnIsStripped) {
  const parsed p("m,sym=a x=1i 5\r");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.timestamp, 5);
  const parsed q("m,sym=a x=1i\r");
  ASSERT_TRUE(q.ok()) << q.error.reason;
  EXPECT_EQ(q.value("x").i, 1);
}

// Whitespace.

TEST(LineProtocol, MultipleSpacesBetweenSectionsAndAtTheEdges) {
  const parsed p("  m,sym=a   x=1   7  ");
  ASSERT_TRUE(p.ok()) << p.error.reason;
  EXPECT_EQ(p.line.timestamp, 7);
  const parsed q("m,sym=a x=1   ");
  ASSERT_TRUE(q.ok()) << q.error.reason;
  EXPECT_FALSE(q.line.timestamp);
}

TEST(LineProtocol, TabIsNotASeparator) {
  expect_error("m,sym=a\tx=1", parse_error_code::invalid_character, "\\x09");
  expect_error("m,sym=a x=1\t5", parse_error_code::invalid_float);
}

TEST(LineProtocol, SpaceAfterCommaIsAnError) {
  expect_error("m, sym=a x=1", parse_error_code::missing_tag_key);
  expect_error("m,sym=a x=1, y=2", parse_error_code::missing_field_key);
}

// Malformed lines.

TEST(LineProtocol, MissingMeasurement) {
  expect_error(",sym=a x=1", parse_error_code::missing_measurement);
}

TEST(LineProtocol, MissingFieldSet) {
  expect_error("quotes", parse_error_code::missing_field_set);
  expect_error("quotes,sym=a", parse_error_code::missing_field_set);
  expect_error("quotes,sym=a   ", parse_error_code::missing_field_set);
}

TEST(LineProtocol, MissingSymbolTag) {
  const parsed p("quotes,venue=x bid=1");
  ASSERT_EQ(p.status, parse_status::error);
  EXPECT_EQ(p.error.code, parse_error_code::missing_symbol);
  EXPECT_EQ(p.error.reason, "missing tag 'sym' or 'symbol'");
  expect_error("quotes bid=1", parse_error_code::missing_symbol);
}

TEST(LineProtocol, SymbolGivenTwice) {
  expect_error("m,sym=a,symbol=b x=1", parse_error_code::duplicate_symbol);
  expect_error("m,sym=a,sym=a x=1", parse_error_code::duplicate_symbol);
}

TEST(LineProtocol, RepeatedTagKeyRejectsTheLine) {
  // InfluxDB answers "duplicate tags" for these; both the fast and the general path agree.
  expect_error("cpu,sym=a,b=1,b=2 v=1", parse_error_code::duplicate_tag, "'b'");
  expect_error("cpu,b=1,sym=a,b=1 v=1 1700000000000000000", parse_error_code::duplicate_tag);
  expect_error(R"(cpu,sym=a,b\ c=1,b\ c=2 v=1)", parse_error_code::duplicate_tag);
  expect_error("cpu,sym=a,a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,a=2 v=1",
               parse_error_code::duplicate_tag);
  const parsed ok("cpu,sym=a,b=1,bb=1,B=1 v=1");
  EXPECT_EQ(ok.status, parse_status::ok);
}

TEST(LineProtocol, TooManyTagsRejectsTheLine) {
  std::string line = "m,sym=a";
  for (std::size_t i = 1; i < kMaxTagsPerLine; ++i)
    line += ",t" + std::to_string(i) + "=x";
  line += " v=1";
  EXPECT_EQ(parsed(line).status, parse_status::ok);
  line.insert(line.find(' '), ",one_more=x");
  expect_error(line, parse_error_code::too_many_tags);
}

TEST(LineProtocol, EmptyTagValue) {
  expect_error("m,sym= x=1", parse_error_code::missing_tag_value, "'sym'");
  expect_error("m,sym=,a=b x=1", parse_error_code::missing_tag_value);
}

TEST(LineProtocol, TagWithoutEquals) {
  expect_error("m,sym x=1", parse_error_code::missing_tag_value, "'sym'");
}

TEST(LineProtocol, UnescapedEqualsInTagValue) {
  expect_error("m,sym=a=b x=1", parse_error_code::invalid_character, "=");
}

TEST(LineProtocol, FieldProblems) {
  expect_error("m,sym=a =1", parse_error_code::missing_field_key);
  expect_error("m,sym=a x", parse_error_code::missing_field_value, "'x'");
  expect_error("m,sym=a x=", parse_error_code::missing_field_value, "'x'");
  expect_error("m,sym=a x=,y=1", parse_error_code::missing_field_value);
  expect_error("m,sym=a x=1,", parse_error_code::missing_field_key);
  expect_error("m,sym=a x=1,,y=2", parse_error_code::missing_field_key);
}

TEST(LineProtocol, DuplicateFieldRejected) {
  expect_error("m,sym=a bid=1,ask=2,bid=3", parse_error_code::duplicate_field, "'bid'");
  // Same name once escaped, once not.
  expect_error(R"(m,sym=a a\=b=1,a\=b=2i)", parse_error_code::duplicate_field);
}

TEST(LineProtocol, TooManyFields) {
  std::string line = "m,sym=a ";
  for (std::size_t i = 0; i <= kMaxFieldsPerLine; ++i) {
    line += (i ? "," : "") + std::string("f") + std::to_string(i) + "=1";
  }
  expect_error(line, parse_error_code::too_many_fields, "64");
  line.resize(line.rfind(','));
  EXPECT_TRUE(parsed(line).ok());
}

TEST(LineProtocol, TimestampProblems) {
  expect_error("m,sym=a x=1 1.5e9", parse_error_code::invalid_timestamp, "'1.5e9'");
  expect_error("m,sym=a x=1 abc", parse_error_code::invalid_timestamp);
  expect_error("m,sym=a x=1 +5", parse_error_code::invalid_timestamp);
  expect_error("m,sym=a x=1 99999999999999999999", parse_error_code::timestamp_out_of_range);
}

TEST(LineProtocol, TrailingGarbageAfterTimestamp) {
  expect_error("m,sym=a x=1 123 456", parse_error_code::trailing_text, "'456'");
}

TEST(LineProtocol, ControlByteAndInvalidUtf8InNames) {
  expect_error(std::string("m\x01,sym=a x=1"), parse_error_code::invalid_character, "\\x01");
  expect_error("m,sym=\xC3\x28 x=1", parse_error_code::invalid_utf8, "\\xc3");
  expect_error("m,sym=\xED\xA0\x80 x=1", parse_error_code::invalid_utf8);  // surrogate
  const parsed p("m,sym=\xE2\x82\xAC x=1");                                // euro sign
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.symbol, "\xE2\x82\xAC");
}

TEST(LineProtocol, LineTooLong) {
  std::string line = "m,sym=a x=1 ";
  line.append(kMaxLineBytes, ' ');
  expect_error(line, parse_error_code::line_too_long, "65536");
}

// Error reporting.

TEST(LineProtocol, ErrorNamesLineByteAndField) {
  line_parser parser;
  parsed_line out;
  parse_error err;
  ASSERT_EQ(parser.parse("q,sym=EURUSD bid=abc", 3, out, err), parse_status::error);
  EXPECT_EQ(err.line, 3u);
  EXPECT_EQ(err.offset, 17u);
  EXPECT_EQ(err.to_string(),
            "line 3, byte 17: invalid value 'abc' for field 'bid' "
            "(expected a number, a boolean or a quoted string)");
  EXPECT_EQ(to_string(err.code), "invalid_value");
  ASSERT_EQ(parser.parse("q,sym=EURUSD ask=1,bid=1.x", 4, out, err), parse_status::error);
  EXPECT_EQ(err.to_string(), "line 4, byte 23: invalid float value '1.x' for field 'bid'");
}

TEST(LineProtocol, QuotedInputIsSanitisedAndTruncated) {
  const std::string junk = "1" + std::string(200, 'x');
  const parsed p("m,sym=a v=" + junk + "\x07");
  ASSERT_EQ(p.status, parse_status::error);
  EXPECT_LT(p.error.reason.size(), 120u);
  EXPECT_NE(p.error.reason.find("...'"), std::string::npos);
  for (const char c : p.error.reason)
    EXPECT_TRUE(c >= 0x20 && c < 0x7F);
}

// Precision.

TEST(LineProtocol, PrecisionNames) {
  EXPECT_EQ(parse_precision("n"), precision::ns);
  EXPECT_EQ(parse_precision("ns"), precision::ns);
  EXPECT_EQ(parse_precision("u"), precision::us);
  EXPECT_EQ(parse_precision("us"), precision::us);
  EXPECT_EQ(parse_precision("ms"), precision::ms);
  EXPECT_EQ(parse_precision("s"), precision::s);
  EXPECT_FALSE(parse_precision("h"));
  EXPECT_FALSE(parse_precision(""));
}

TEST(LineProtocol, ToNanosecondsScalesAndDetectsOverflow) {
  EXPECT_EQ(to_nanoseconds(17, precision::ns), 17);
  EXPECT_EQ(to_nanoseconds(17, precision::us), 17'000);
  EXPECT_EQ(to_nanoseconds(-17, precision::ms), -17'000'000);
  EXPECT_EQ(to_nanoseconds(1'700'000'000, precision::s), 1'700'000'000'000'000'000);
  EXPECT_EQ(to_nanoseconds(9'223'372'036, precision::s), 9'223'372'036'000'000'000);
  EXPECT_FALSE(to_nanoseconds(9'223'372'037, precision::s));
  EXPECT_FALSE(to_nanoseconds(std::numeric_limits<std::int64_t>::min(), precision::us));
}

TEST(LineProtocol, ParserAppliesPrecision) {
  const parsed p("m,sym=a x=1 1700000000", precision::s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.line.timestamp, 1'700'000'000'000'000'000);
  const parsed q("m,sym=a x=1 10000000000", precision::s);
  EXPECT_EQ(q.error.code, parse_error_code::timestamp_out_of_range);
  EXPECT_NE(q.error.reason.find("seconds"), std::string::npos);
}

// Splitting a stream into lines.

TEST(LineProtocol, ForEachLineKeepsIncompleteTail) {
  std::vector<std::string> lines;
  const std::string_view buffer = "a\nbb\r\n\nccc";
  const auto collect = [&](std::string_view l) { lines.emplace_back(l); };
  EXPECT_EQ(for_each_line(buffer, collect), 7u);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "bb\r", ""}));
  lines.clear();
  EXPECT_EQ(for_each_line(buffer, collect, /*end_of_input=*/true), buffer.size());
  EXPECT_EQ(lines.back(), "ccc");
  lines.clear();
  EXPECT_EQ(for_each_line("no newline", collect), 0u);
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(for_each_line("", collect, true), 0u);
  EXPECT_TRUE(lines.empty());
}

// Reuse and allocation.

TEST(LineProtocol, ParserIsReusableAcrossLines) {
  line_parser parser;
  parsed_line out;
  parse_error err;
  ASSERT_EQ(parser.parse(R"(m,sym=a\ b x=1,y=2)", 1, out, err), parse_status::ok);
  EXPECT_EQ(out.fields.size(), 2u);
  ASSERT_EQ(parser.parse("m,sym=c z=3 9", 2, out, err), parse_status::ok);
  EXPECT_EQ(out.symbol, "c");
  ASSERT_EQ(out.fields.size(), 1u);
  EXPECT_EQ(out.fields[0].name, "z");
  EXPECT_EQ(out.timestamp, 9);
  ASSERT_EQ(parser.parse("m,sym=c z=oops", 3, out, err), parse_status::error);
  ASSERT_EQ(parser.parse("m,sym=c z=4", 4, out, err), parse_status::ok);
  EXPECT_FALSE(out.timestamp);
}

TEST(LineProtocol, NoHeapAllocationOnceWarm) {
  const std::string escaped = R"(quotes,sym=EUR\ USD bid\ px=1.0842,ask=1.0843,n=5i 1700000000)";
  const std::string bad = "quotes,sym=EURUSD bid=abc";
  line_parser parser;
  parsed_line out;
  parse_error err;
  ASSERT_EQ(parser.parse(escaped, 1, out, err), parse_status::ok);
  ASSERT_EQ(parser.parse(bad, 2, out, err), parse_status::error);  // warms err.reason too
  const std::size_t before = g_allocations;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(parser.parse(escaped, 1, out, err), parse_status::ok);
    ASSERT_EQ(parser.parse(bad, 2, out, err), parse_status::error);
  }
  EXPECT_EQ(g_allocations, before);
}

// The fast path (line_protocol_fast_path.h) against the general path and its byte tests
// (line_protocol_bytes.h) against byte-by-byte references.

// A copy of `text` in a heap block of exactly its size, so that AddressSanitizer reports any read
// past the end of the line (a std::string would have a terminator and spare capacity there).
struct exact_copy {
  explicit exact_copy(std::string_view text) : bytes(text.begin(), text.end()) {}
  std::string_view view() const { return {bytes.data(), bytes.size()}; }
  std::vector<char> bytes;  // built from a range: capacity == size
  std::size_t size() const { return bytes.size(); }
};

using namespace std::string_view_literals;

// Bytes that the classifiers treat specially, and some that they must not.
constexpr std::string_view kInterestingBytes =
    ", =\\\"\x01\x1f\x7f\x80\xc3\xff\x00.-0123456789iu tTfFeEab#"sv;

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string text(size, ' ');
  for (char& c : text)
    c = kInterestingBytes[rng() % kInterestingBytes.size()];
  return text;
}

TEST(LineProtocolFastPath, ByteClassesMatchAByteByByteReference) {
  const auto structural = [](unsigned char c) {
    return c == ',' || c == ' ' || c == '=' || c == '\\' || c < 0x20 || c >= 0x7F;
  };
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    const exact_copy copy(random_bytes(rng, rng() % 150));
    const char* const line = copy.view().data();
    const char* const end = line + copy.size();
    for (const char* p = line; p <= end; ++p) {
      std::uint64_t structure = 0;  // 64 bytes from p
      std::uint32_t non_digit = 0;  // 16 bytes from p
      for (std::size_t i = 0; i < 64; ++i) {
        const bool inside = p + i < end;
        const auto c = inside ? static_cast<unsigned char>(p[i]) : 0;
        if (inside && structural(c)) structure |= std::uint64_t{1} << i;
        if (i < 16 && (!inside || c < '0' || c > '9')) non_digit |= 1u << i;
      }
      const std::size_t offset = static_cast<std::size_t>(p - line);
      EXPECT_EQ(detail::non_digits(line, p, end), non_digit) << offset;
      EXPECT_EQ(detail::non_digits_swar(line, p, end), non_digit) << offset;
      if (p == end) continue;
      const auto block = static_cast<std::uint32_t>(structure & 0xFFFF);
      EXPECT_EQ(detail::structure_of_block(line, p, end), block) << offset;
      EXPECT_EQ(detail::structure_of_block_swar(line, p, end), block) << offset;
      EXPECT_EQ(detail::structure_of_chunk(line, p, end), structure) << offset;
    }
  }
}

TEST(LineProtocolFastPath, DigitsValueAtEveryLengthAndPosition) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = rng() % 20;
    std::string digits;
    for (std::size_t i = 0; i < n; ++i)
      digits += static_cast<char>('0' + rng() % 10);
    const std::string before = random_bytes(rng, rng() % 12);
    const std::string after = random_bytes(rng, rng() % 12);
    const exact_copy copy(before + digits + after);
    const char* const line = copy.view().data();
    std::uint64_t expected = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), expected);
    EXPECT_EQ(detail::digits_value(line, line + copy.size(), line + before.size(), n), expected)
        << digits;
  }
}

// A line from a small grammar with frequent mistakes and unusual forms.
std::string generated_line(std::mt19937_64& rng) {
  // The first option nine times in ten (most lines should be plain), else any.
  const auto pick = [&](std::initializer_list<std::string_view> options) {
    return std::string(options.begin()[rng() % 10 != 0 ? 0 : rng() % options.size()]);
  };
  const auto number = [&] {
    std::string text = rng() % 8 == 0 ? "-" : "";
    const int int_digits = static_cast<int>(rng() % 18);
    const int fraction_digits = static_cast<int>(rng() % 18);
    for (int i = 0; i < int_digits; ++i)
      text += static_cast<char>('0' + rng() % 10);
    if (rng() % 3 != 0) {
      text += '.';
      for (int i = 0; i < fraction_digits; ++i)
        text += static_cast<char>('0' + rng() % 10);
    }
    if (rng() % 10 == 0) text += "e" + std::to_string(static_cast<int>(rng() % 41) - 20);
    return text;
  };
  std::string line =
      pick({"", " ", "  "}) + pick({"quotes", "q", "my\\ m", "a=b", "m\xc3\xa9", ""});
  const std::size_t tags = rng() % 10 != 0 ? 1 : rng() % 4;
  for (std::size_t i = 0; i < tags; ++i) {
    line += "," +
            (i == 0 ? pick({"sym", "symbol", "venue", "s\\,y", ""})
                    : pick({"venue", "sym", "symbol", "", "v\\ x"})) +
            pick({"=", ""}) + pick({"SYM0042", "EUR\\ USD", "a", "", "x=y", "\x01"});
  }
  line += pick({" ", "  ", "", "\t"});
  const std::size_t fields = rng() % 10 != 0 ? 4 : rng() % 6;
  for (std::size_t i = 0; i < fields; ++i) {
    constexpr std::array<std::string_view, 4> kNames = {"bid", "ask", "bid_size", "ask_size"};
    line += rng() % 10 != 0 ? std::string(kNames[i % 4])
                            : pick({"b", "a\\=b", "", "bid", "x y", "ask"});
    line += pick({"=", ""});
    switch (rng() % 8) {
      case 0:
        line += number() + pick({"i", "u"});
        break;
      case 1:
        line += pick({"t", "true", "FALSE", "tRUE", "\"s\"", "\"a b\"", "", "x", "1.5.6", "1 2"});
        break;
      default:
        line += number();
    }
    if (i + 1 < fields) line += pick({",", ", ", " "});
  }
  if (rng() % 4 != 0) {
    line += pick({" ", "  "}) + pick({"", "-", "--"});
    for (std::size_t i = rng() % 21; i > 0; --i)
      line += static_cast<char>('0' + rng() % 10);
    line += pick({"", " ", "  ", "x", " 5"});
  }
  return line + pick({"", "\r"});
}

TEST(LineProtocolFastPath, AgreesWithTheGeneralPath) {
  std::mt19937_64 rng(3);
  std::array<field, kMaxFieldsPerLine> storage{};
  std::size_t accepted = 0;
  std::size_t declined = 0;
  for (int round = 0; round < 100'000; ++round) {
    const exact_copy copy(generated_line(rng));
    std::string_view line = copy.view();
    // parse()'s preconditions for the fast path.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t start = std::min(line.find_first_not_of(' '), line.size());
    if (start == line.size() || line[start] == '#') continue;
    const auto unit = static_cast<precision>(rng() % 4);
    parsed_line fast;
    if (detail::parse_plain_line(line, start, storage, unit, fast)) {
      ++accepted;
      ASSERT_TRUE(detail::general_path_agrees(line, unit, fast)) << line;
    } else {
      ++declined;
    }
  }
  // Both sides of the fast path's every test should be exercised.
  EXPECT_GT(accepted, 10'000u);
  EXPECT_GT(declined, 10'000u);
}

TEST(LineProtocolFastPath, NumbersMatchFromChars) {
  std::mt19937_64 rng(5);
  std::size_t fast = 0;
  for (int n = 0; n < 100'000; ++n) {
    std::string x = rng() % 2 ? "-" : "";
    for (std::size_t i = rng() % 17; i > 0; --i)
      x += static_cast<char>('0' + rng() % 10);
    if (rng() % 4 != 0) {
      x += '.';
      for (std::size_t i = rng() % 17; i > 0; --i)
        x += static_cast<char>('0' + rng() % 10);
    }
    if (x.find_first_of("0123456789") == std::string::npos) x += '7';
    std::string y = rng() % 2 ? "-" : "";
    for (std::size_t i = 1 + rng() % 18; i > 0; --i)
      y += static_cast<char>('0' + rng() % 10);
    const std::string t = std::to_string(static_cast<std::int64_t>(rng() >> 1) - (1LL << 62));
    const std::string text = "q,sym=S x=" + x + ",y=" + y + "i " + t;
    const exact_copy copy(text);
    std::array<field, kMaxFieldsPerLine> storage{};
    parsed_line out;
    fast += detail::parse_plain_line(copy.view(), 0, storage, precision::ns, out);
    const parsed p(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.error.reason;
    double x_ref = 0;
    std::int64_t y_ref = 0;
    std::int64_t t_ref = 0;
    std::from_chars(x.data(), x.data() + x.size(), x_ref);
    std::from_chars(y.data(), y.data() + y.size(), y_ref);
    std::from_chars(t.data(), t.data() + t.size(), t_ref);
    ASSERT_EQ(std::bit_cast<std::uint64_t>(p.value("x").f), std::bit_cast<std::uint64_t>(x_ref))
        << text;
    ASSERT_EQ(p.value("y").i, y_ref) << text;
    ASSERT_EQ(p.line.timestamp, t_ref) << text;
  }
  EXPECT_GT(fast, 50'000u);  // most of them took the fast path
}

TEST(LineProtocolFastPath, DeclinesWhatNeedsTheGeneralRules) {
  std::array<field, kMaxFieldsPerLine> storage{};
  for (const std::string_view text : {
           "m,sym=a\\ b x=1",            // escape
           "m,sym=\xc3\xa9 x=1",         // UTF-8 to validate
           "m,sym=a x=1 5\x01",          // control byte after the timestamp
           "m,sym=a x=1,s=\"q\"",        // string field
           "m,sym=a x=1, y=2",           // empty field key
           "m,sym=a,sym=b x=1",          // symbol twice
           "m,sym=a bid=1,ask=2,bid=3",  // duplicate field
           "m x=1",                      // no tags, no symbol
           "m,sym=a x=1 99999999999999999999",
           "m,sym=a x=1 9223372036854775808",
       }) {
    const exact_copy copy(text);
    parsed_line out;
    EXPECT_FALSE(detail::parse_plain_line(copy.view(), 0, storage, precision::ns, out)) << text;
  }
}

}  // namespace
}  // namespace tickring::protocol
