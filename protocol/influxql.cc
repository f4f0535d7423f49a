#include "protocol/influxql.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "protocol/query_string.h"

namespace tickring::protocol::influxql {

std::string_view to_string(error_code c) noexcept {
  switch (c) {
    case error_code::none:
      return "none";
    case error_code::syntax:
      return "syntax";
    case error_code::unsupported:
      return "unsupported";
    case error_code::bad_time:
      return "bad_time";
    case error_code::too_long:
      return "too_long";
  }
  return "unknown";
}

std::string_view to_string(aggregate a) noexcept {
  constexpr std::string_view kNames[] = {"", "mean", "min", "max", "first", "last", "count", "sum"};
  return kNames[static_cast<std::size_t>(a)];
}

std::optional<time_ns> parse_duration(std::string_view text) {
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p == text.data() || n <= 0) return std::nullopt;
  const std::string_view unit(p, static_cast<std::size_t>(end - p));
  std::int64_t mult = 0;
  if (unit == "ns") mult = 1;
  if (unit == "u" || unit == "\xC2\xB5") mult = 1'000;  // µ in UTF-8
  if (unit == "ms") mult = 1'000'000;
  if (unit == "s") mult = 1'000'000'000;
  if (unit == "m") mult = 60'000'000'000;
  if (unit == "h") mult = 3'600'000'000'000;
  if (unit == "d") mult = 86'400'000'000'000;
  if (unit == "w") mult = 7 * 86'400'000'000'000;
  if (mult == 0 || n > std::numeric_limits<std::int64_t>::max() / mult) return std::nullopt;
  return n * mult;
}

namespace {

enum class tok : std::uint8_t {
  end,
  ident,     // bare or "quoted" (text unescaped)
  string,    // 'single quoted' (text unescaped)
  integer,   // 123
  number,    // 1.5
  duration,  // 10s, 1700000000000ms
  regex,     // /.../ (text between the slashes, as written)
  comma,
  lparen,
  rparen,
  semicolon,
  star,
  dot,
  cast,  // ::
  eq,
  neq,
  lt,
  lte,
  gt,
  gte,
  eq_regex,
  neq_regex,
  plus,
  minus,
  other,  // any other byte: a syntax error where it is met
};

struct token {
  tok kind = tok::end;
  std::size_t pos = 0;
  std::string text;
  bool quoted = false;  // an identifier written in double quotes (never a keyword)
};

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

class parser {
 public:
  parser(std::string_view q, time_ns now) : q_(q), now_(now) { advance(); }

  parse_result run() {
    parse_result r;
    while (!err_) {
      while (cur_.kind == tok::semicolon)
        advance();
      if (cur_.kind == tok::end) break;
      if (r.statements.size() == kMaxStatements) {
        fail(error_code::too_long, "more than " + std::to_string(kMaxStatements) + " statements");
        break;
      }
      statement s;
      s.position = cur_.pos;
      parse_statement(s);
      if (err_) break;
      if (cur_.kind != tok::semicolon && cur_.kind != tok::end) {
        expected("end of statement");
        break;
      }
      r.statements.push_back(std::move(s));
    }
    if (!err_ && r.statements.empty()) fail(error_code::syntax, "empty query");
    r.error = std::move(err_);
    return r;
  }

 private:
  // ---- errors ----
  void fail(error_code c, std::string message) { fail_at(c, cur_.pos, std::move(message)); }
  void fail_at(error_code c, std::size_t pos, std::string message) {
    if (err_) return;
    err_.code = c;
    err_.position = pos;
    err_.message = std::move(message);
  }
  std::string found() const {
    if (cur_.kind == tok::end) return "EOF";
    // Quote at most a few bytes of the client's text: an error never grows with the query.
    constexpr std::size_t kMaxEchoed = 40;
    const std::size_t len = std::min(kMaxEchoed, q_.size() - cur_.pos);
    std::string_view t = q_.substr(cur_.pos, len);
    if (cur_.kind != tok::string && cur_.kind != tok::regex) {
      std::size_t n = 1;
      while (n < t.size() && t[n] != ' ' && t[n] != ',' && t[n] != '(' && t[n] != ')')
        ++n;
      t = t.substr(0, n);
    }
    return std::string(t);
  }
  void expected(std::string_view what) {
    fail(error_code::syntax, "found " + found() + ", expected " + std::string(what));
  }
  void unsupported(std::string_view what) {
    fail(error_code::unsupported, std::string(what) + " is not supported by tickring");
  }

  // ---- lexer ----
  void advance() {
    if (err_) {
      cur_ = token{tok::end, q_.size(), {}, false};
      return;
    }
    while (pos_ < q_.size() &&
           (q_[pos_] == ' ' || q_[pos_] == '\t' || q_[pos_] == '\n' || q_[pos_] == '\r'))
      ++pos_;
    cur_ = token{};
    cur_.pos = pos_;
    if (pos_ >= q_.size()) return;
    const char c = q_[pos_];
    auto one = [&](tok k, std::size_t n = 1) {
      cur_.kind = k;
      pos_ += n;
    };
    const char next = pos_ + 1 < q_.size() ? q_[pos_ + 1] : '\0';
    if (is_ident_start(c)) {
      std::size_t e = pos_;
      while (e < q_.size() && is_ident_char(q_[e]))
        ++e;
      cur_.kind = tok::ident;
      cur_.text = std::string(q_.substr(pos_, e - pos_));
      pos_ = e;
      return;
    }
    if (c == '"' || c == '\'') {
      // Quoted: a backslash escapes the next byte (InfluxQL's \" \' \\).
      std::size_t e = pos_ + 1;
      std::string text;
      while (e < q_.size() && q_[e] != c) {
        if (q_[e] == '\\' && e + 1 < q_.size()) ++e;
        text.push_back(q_[e]);
        ++e;
      }
      if (e >= q_.size()) {
        fail(error_code::syntax,
             c == '"' ? "unterminated quoted identifier" : "unterminated string literal");
        cur_.kind = tok::end;
        return;
      }
      cur_.kind = c == '"' ? tok::ident : tok::string;
      cur_.quoted = c == '"';
      cur_.text = std::move(text);
      pos_ = e + 1;
      return;
    }
    if (is_digit(c) || (c == '.' && is_digit(next))) {
      std::size_t e = pos_;
      bool dot = false;
      while (e < q_.size() && (is_digit(q_[e]) || (q_[e] == '.' && !dot))) {
        dot = dot || q_[e] == '.';
        ++e;
      }
      std::size_t u = e;  // a unit right after the digits makes a duration
      while (u < q_.size() &&
             ((q_[u] >= 'a' && q_[u] <= 'z') || q_[u] == '\xC2' || q_[u] == '\xB5'))
        ++u;
      cur_.kind = u > e && !dot ? tok::duration : dot ? tok::number : tok::integer;
      if (u > e && dot) {
        fail(error_code::syntax, "a duration must be an integer with a unit");
        cur_.kind = tok::end;
        return;
      }
      cur_.text = std::string(q_.substr(pos_, u - pos_));
      pos_ = u;
      return;
    }
    switch (c) {
      case ',':
        return one(tok::comma);
      case '(':
        return one(tok::lparen);
      case ')':
        return one(tok::rparen);
      case ';':
        return one(tok::semicolon);
      case '*':
        return one(tok::star);
      case '+':
        return one(tok::plus);
      case '-':
        return one(tok::minus);
      case '.':
        return one(tok::dot);
      case ':':
        if (next == ':') return one(tok::cast, 2);
        return one(tok::other);
      case '=':
        if (next == '~') return one(tok::eq_regex, 2);
        return one(tok::eq);
      case '!':
        if (next == '=') return one(tok::neq, 2);
        if (next == '~') return one(tok::neq_regex, 2);
        return one(tok::other);
      case '<':
        if (next == '=') return one(tok::lte, 2);
        if (next == '>') return one(tok::neq, 2);
        return one(tok::lt);
      case '>':
        if (next == '=') return one(tok::gte, 2);
        return one(tok::gt);
      case '/': {
        std::size_t e = pos_ + 1;
        std::string text;
        while (e < q_.size() && q_[e] != '/') {
          if (q_[e] == '\\' && e + 1 < q_.size()) text.push_back(q_[e++]);
          text.push_back(q_[e++]);
        }
        if (e >= q_.size()) {
          fail(error_code::syntax, "unterminated regular expression");
          cur_.kind = tok::end;
          return;
        }
        cur_.kind = tok::regex;
        cur_.text = std::move(text);
        pos_ = e + 1;
        return;
      }
      default:
        return one(tok::other);
    }
  }

  bool keyword(std::string_view kw) const {
    return cur_.kind == tok::ident && !cur_.quoted && iequals(cur_.text, kw);
  }
  bool accept_keyword(std::string_view kw) {
    if (!keyword(kw)) return false;
    advance();
    return true;
  }
  bool expect_keyword(std::string_view kw) {
    if (accept_keyword(kw)) return true;
    expected(kw);
    return false;
  }
  bool accept(tok k) {
    if (cur_.kind != k) return false;
    advance();
    return true;
  }
  bool expect(tok k, std::string_view what) {
    if (accept(k)) return true;
    expected(what);
    return false;
  }

  // An identifier with an optional ::tag / ::field cast (Grafana writes "sym"::tag).
  std::optional<std::string> identifier(std::string_view what) {
    if (cur_.kind != tok::ident) {
      expected(what);
      return std::nullopt;
    }
    if (cur_.text.empty()) {
      fail(error_code::syntax,
           "empty identifier (\"\") where a " + std::string(what) + " is expected");
      return std::nullopt;
    }
    std::string name = std::move(cur_.text);
    advance();
    if (accept(tok::cast)) {
      if (!accept_keyword("tag") && !accept_keyword("field")) {
        expected("tag or field");
        return std::nullopt;
      }
    }
    return name;
  }

  std::optional<std::uint64_t> unsigned_integer(std::string_view what) {
    if (cur_.kind != tok::integer) {
      expected(what);
      return std::nullopt;
    }
    std::uint64_t n = 0;
    const auto [p, ec] = std::from_chars(cur_.text.data(), cur_.text.data() + cur_.text.size(), n);
    if (ec != std::errc() || p != cur_.text.data() + cur_.text.size()) {
      fail(error_code::syntax, "integer out of range: " + found());
      return std::nullopt;
    }
    advance();
    return n;
  }

  // ---- statements ----
  void parse_statement(statement& s) {
    if (accept_keyword("select")) return parse_select(s);
    if (accept_keyword("show")) return parse_show(s);
    for (std::string_view kw : {"create", "drop", "delete", "insert", "alter", "grant", "revoke",
                                "kill", "explain", "set"}) {
      if (keyword(kw)) {
        std::string up(kw);
        for (char& ch : up)
          ch = static_cast<char>(ch - 'a' + 'A');
        return unsupported(up + " (tickring's /query only reads; write with /write)");
      }
    }
    expected("SELECT, SHOW");
  }

  // [ON <db>]: the database name is accepted and ignored (tickring has one).
  void skip_on_database() {
    if (accept_keyword("on")) identifier("database name");
  }

  // FROM [<db>.][<rp>.]<measurement>, also <db>..<measurement>; the last name is kept.
  void parse_from(statement& s) {
    if (cur_.kind == tok::regex) return unsupported("a regular expression in FROM");
    auto name = identifier("measurement");
    if (!name) return;
    s.measurement = std::move(*name);
    int parts = 1;
    while (cur_.kind == tok::dot && !err_) {
      advance();
      if (cur_.kind == tok::dot) continue;  // db..measurement
      if (++parts > 3) return expected("measurement");
      name = identifier("measurement");
      if (!name) return;
      s.measurement = std::move(*name);
    }
    if (cur_.kind == tok::comma) unsupported("more than one measurement in FROM");
  }

  void parse_limit(statement& s) {
    if (accept_keyword("limit")) {
      s.limit = unsigned_integer("LIMIT count");
      if (!err_ && *s.limit == 0) s.limit.reset();  // InfluxDB: LIMIT 0 means no limit
    }
    if (keyword("offset") || keyword("slimit") || keyword("soffset")) {
      std::string kw = cur_.text;
      for (char& ch : kw)
        ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
      unsupported(kw);
    }
  }

  void parse_show(statement& s) {
    if (accept_keyword("databases")) {
      s.kind = statement_kind::show_databases;
      return;
    }
    if (accept_keyword("retention")) {
      if (!expect_keyword("policies")) return;
      s.kind = statement_kind::show_retention_policies;
      skip_on_database();
      // Older clients write SHOW RETENTION POLICIES <db>.
      if (cur_.kind == tok::ident) identifier("database name");
      return;
    }
    if (accept_keyword("measurements")) {
      s.kind = statement_kind::show_measurements;
      skip_on_database();
      if (accept_keyword("with")) {
        if (!expect_keyword("measurement")) return;
        if (cur_.kind == tok::eq) {
          advance();
          auto name = identifier("measurement");
          if (!name) return;
          s.measurement = std::move(*name);
        } else if (accept(tok::eq_regex)) {
          if (cur_.kind != tok::regex) return expected("regular expression");
          literal_regex(s);
          advance();
        } else {
          return expected("= or =~");
        }
      }
      if (keyword("where")) return unsupported("WHERE in SHOW MEASUREMENTS");
      return parse_limit(s);
    }
    if (accept_keyword("tag")) {
      if (accept_keyword("keys")) {
        s.kind = statement_kind::show_tag_keys;
        skip_on_database();
        if (accept_keyword("from")) parse_from(s);
        if (keyword("where")) return unsupported("WHERE in SHOW TAG KEYS");
        return parse_limit(s);
      }
      if (!expect_keyword("values")) return;
      s.kind = statement_kind::show_tag_values;
      skip_on_database();
      if (accept_keyword("from")) parse_from(s);
      if (err_ || !expect_keyword("with") || !expect_keyword("key")) return;
      if (cur_.kind == tok::eq) {
        advance();
        auto key = identifier("tag key");
        if (!key) return;
        s.tag_key = std::move(*key);
      } else if (keyword("in") || cur_.kind == tok::eq_regex || cur_.kind == tok::neq ||
                 cur_.kind == tok::neq_regex) {
        return unsupported("WITH KEY other than = \"<key>\"");
      } else {
        return expected("=");
      }
      if (keyword("where")) return unsupported("WHERE in SHOW TAG VALUES");
      return parse_limit(s);
    }
    if (accept_keyword("field")) {
      if (!expect_keyword("keys")) return;
      s.kind = statement_kind::show_field_keys;
      skip_on_database();
      if (accept_keyword("from")) parse_from(s);
      return parse_limit(s);
    }
    if (cur_.kind == tok::ident) {
      std::string kw = cur_.text;
      for (char& ch : kw)
        ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
      return unsupported("SHOW " + kw.substr(0, 32));
    }
    expected("DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, RETENTION POLICIES");
  }

  // Grafana filters measurements with /(?i)<escaped text>/: a literal, maybe case-blind. Any
  // other regular expression would need a regex engine with Go's syntax; it is refused.
  void literal_regex(statement& s) {
    std::string_view r = cur_.text;
    if (r.starts_with("(?i)")) {
      s.filter_case_insensitive = true;
      r.remove_prefix(4);
    }
    std::string lit;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const char c = r[i];
      if (c == '\\' && i + 1 < r.size() && !is_ident_char(r[i + 1])) {
        lit.push_back(r[++i]);
      } else if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) {
        return unsupported("a regular expression other than a literal text");
      } else {
        lit.push_back(c);
      }
    }
    s.measurement_filter = std::move(lit);
  }

  std::optional<aggregate> function_name(std::string_view n) {
    constexpr std::pair<std::string_view, aggregate> kAggs[] = {
        {"mean", aggregate::mean},   {"min", aggregate::min},   {"max", aggregate::max},
        {"first", aggregate::first}, {"last", aggregate::last}, {"count", aggregate::count},
        {"sum", aggregate::sum}};
    for (const auto& [name, a] : kAggs) {
      if (iequals(n, name)) return a;
    }
    return std::nullopt;
  }

  void parse_field(statement& s) {
    field_expr f;
    if (accept(tok::star)) {
      f.name = "*";
    } else {
      if (cur_.kind != tok::ident || keyword("from")) return expected("field name, * or function");
      const bool quoted = cur_.quoted;
      const std::size_t at = cur_.pos;
      auto name = identifier("field name");
      if (!name) return;
      if (!quoted && cur_.kind == tok::lparen) {
        const auto agg = function_name(*name);
        if (!agg) {
          return fail_at(error_code::unsupported, at,
                         "function " + name->substr(0, 32) + "() is not supported by tickring " +
                             "(use mean, min, max, first, last, count or sum)");
        }
        advance();
        if (cur_.kind == tok::star) return unsupported(*name + "(*)");
        if (cur_.kind == tok::regex) return unsupported("a regular expression in " + *name + "()");
        if (cur_.kind == tok::ident && !cur_.quoted && function_name(cur_.text)) {
          return unsupported("a function inside " + *name + "()");
        }
        auto arg = identifier("field name");
        if (!arg) return;
        if (cur_.kind == tok::comma) return unsupported(*name + "() with more than one argument");
        if (!expect(tok::rparen, ")")) return;
        f.agg = *agg;
        f.name = std::move(*arg);
      } else {
        f.name = std::move(*name);
      }
    }
    if (cur_.kind == tok::star || cur_.kind == tok::plus || cur_.kind == tok::minus ||
        cur_.kind == tok::regex) {
      return unsupported("arithmetic on fields");
    }
    if (accept_keyword("as")) {
      auto alias = identifier("alias");
      if (!alias) return;
      f.alias = std::move(*alias);
    }
    s.fields.push_back(std::move(f));
  }

  void parse_select(statement& s) {
    s.kind = statement_kind::select;
    do {
      if (s.fields.size() == kMaxSelectFields) {
        return fail(error_code::too_long,
                    "more than " + std::to_string(kMaxSelectFields) + " fields in SELECT");
      }
      parse_field(s);
      if (err_) return;
    } while (accept(tok::comma));
    if (keyword("into")) return unsupported("SELECT ... INTO");
    if (!expect_keyword("from")) return;
    if (cur_.kind == tok::lparen) return unsupported("a subquery");
    parse_from(s);
    if (err_) return;
    if (accept_keyword("where")) {
      condition(s, 0);
      if (err_) return;
    }
    if (accept_keyword("group")) {
      if (!expect_keyword("by")) return;
      parse_group_by(s);
      if (err_) return;
    }
    if (accept_keyword("fill")) {
      parse_fill(s);
      if (err_) return;
    }
    if (accept_keyword("order")) {
      if (!expect_keyword("by")) return;
      if (!keyword("time")) return unsupported("ORDER BY other than time");
      advance();
      if (accept_keyword("desc")) {
        s.descending = true;
      } else {
        accept_keyword("asc");
      }
    }
    parse_limit(s);
    if (err_) return;
    if (keyword("tz")) return unsupported("tz()");
    check_select(s);
  }

  // The rules InfluxDB applies to a SELECT before running it.
  void check_select(statement& s) {
    bool any_agg = false;
    bool any_raw = false;
    for (const auto& f : s.fields)
      (f.agg == aggregate::none ? any_raw : any_agg) = true;
    if (any_agg && any_raw) {
      return fail_at(error_code::syntax, s.position,
                     "mixing aggregate and non-aggregate queries is not supported");
    }
    if (s.group_interval != 0 && !any_agg) {
      return fail_at(error_code::syntax, s.position,
                     "GROUP BY requires at least one aggregate function");
    }
    if (s.group_interval != 0 && s.from == INT64_MIN) {
      return fail_at(error_code::unsupported, s.position,
                     "GROUP BY time() without a lower time bound (add WHERE time >= ...) is "
                     "not supported by tickring");
    }
  }

  void parse_group_by(statement& s) {
    do {
      if (keyword("time") && !cur_.quoted) {
        advance();
        if (!expect(tok::lparen, "(")) return;
        if (cur_.kind != tok::duration) return expected("duration");
        const auto d = parse_duration(cur_.text);
        if (!d) return fail(error_code::bad_time, "invalid duration " + found());
        s.group_interval = *d;
        advance();
        if (cur_.kind == tok::comma) return unsupported("an offset in GROUP BY time()");
        if (!expect(tok::rparen, ")")) return;
      } else if (accept(tok::star)) {
        s.group_by_symbol = true;
      } else if (cur_.kind == tok::ident) {
        if (cur_.kind == tok::regex) return unsupported("a regular expression in GROUP BY");
        const std::size_t at = cur_.pos;
        auto tag = identifier("tag key");
        if (!tag) return;
        if (*tag != "sym" && *tag != "symbol") {
          return fail_at(error_code::unsupported, at,
                         "GROUP BY " + tag->substr(0, 32) +
                             " is not supported by tickring (its only tag is sym)");
        }
        s.group_by_symbol = true;
      } else {
        return expected("time(), a tag key or *");
      }
    } while (accept(tok::comma));
  }

  void parse_fill(statement& s) {
    if (!expect(tok::lparen, "(")) return;
    if (accept_keyword("null")) {
      s.fill = fill_kind::null;
    } else if (accept_keyword("none")) {
      s.fill = fill_kind::none;
    } else if (accept_keyword("previous")) {
      s.fill = fill_kind::previous;
    } else if (keyword("linear")) {
      return unsupported("fill(linear)");
    } else {
      const bool negative = accept(tok::minus);
      if (cur_.kind != tok::integer && cur_.kind != tok::number) {
        return expected("null, none, previous or a number");
      }
      double v = 0;
      const auto [p, ec] =
          std::from_chars(cur_.text.data(), cur_.text.data() + cur_.text.size(), v);
      if (ec != std::errc()) return fail(error_code::syntax, "bad number " + found());
      s.fill = fill_kind::number;
      s.fill_value = negative ? -v : v;
      advance();
    }
    expect(tok::rparen, ")");
  }

  // ---- WHERE: conditions joined by AND ----
  void condition(statement& s, int depth) {
    if (depth > kMaxNesting) {
      return fail(error_code::too_long,
                  "parentheses nested deeper than " + std::to_string(kMaxNesting));
    }
    do {
      if (accept(tok::lparen)) {
        condition(s, depth + 1);
        if (err_) return;
        if (!expect(tok::rparen, ")")) return;
      } else {
        comparison(s);
      }
      if (err_) return;
      if (keyword("or")) return unsupported("OR in WHERE");
    } while (accept_keyword("and"));
  }

  void comparison(statement& s) {
    if (cur_.kind != tok::ident) return expected("identifier");
    const std::size_t at = cur_.pos;
    const bool is_time = keyword("time") || (cur_.quoted && cur_.text == "time");
    auto name = identifier("identifier");
    if (!name) return;
    const tok op = cur_.kind;
    const bool comparison_op = op == tok::eq || op == tok::neq || op == tok::lt || op == tok::lte ||
                               op == tok::gt || op == tok::gte || op == tok::eq_regex ||
                               op == tok::neq_regex;
    if (!comparison_op) return expected("=, !=, <, <=, >, >=, =~ or !~");
    advance();
    if (is_time) {
      if (op == tok::neq || op == tok::eq_regex || op == tok::neq_regex) {
        return fail_at(error_code::unsupported, at,
                       "this comparison with time is not supported by tickring");
      }
      const auto t = time_expression();
      if (!t) return;
      time_ns lo = INT64_MIN;
      time_ns hi = INT64_MAX;
      // Strict bounds move by one nanosecond, saturating at the ends.
      if (op == tok::gte || op == tok::eq) lo = *t;
      if (op == tok::gt) lo = *t == INT64_MAX ? INT64_MAX : *t + 1;
      if (op == tok::lte || op == tok::eq) hi = *t;
      if (op == tok::lt) hi = *t == INT64_MIN ? INT64_MIN : *t - 1;
      if (op == tok::gt && *t == INT64_MAX) s.contradiction = true;
      if (op == tok::lt && *t == INT64_MIN) s.contradiction = true;
      s.from = std::max(s.from, lo);
      s.to = std::min(s.to, hi);
      if (hi != INT64_MAX) s.has_to = true;
      return;
    }
    if (*name != "sym" && *name != "symbol") {
      return fail_at(error_code::unsupported, at,
                     "WHERE on " + name->substr(0, 32) +
                         " is not supported by tickring (filter on sym = '...' and time)");
    }
    if (op != tok::eq) {
      return fail_at(error_code::unsupported, at,
                     "a tag comparison other than sym = '<symbol>' is not supported by tickring");
    }
    if (cur_.kind != tok::string) return expected("string");
    if (s.symbol && *s.symbol != cur_.text) s.contradiction = true;
    s.symbol = std::move(cur_.text);
    advance();
  }

  // now() [+|- duration]..., '<RFC 3339>' [+|- duration]..., <int>[unit]
  std::optional<time_ns> time_expression() {
    time_ns t = 0;
    const std::size_t at = cur_.pos;
    if (keyword("now")) {
      advance();
      if (!expect(tok::lparen, "(") || !expect(tok::rparen, ")")) return std::nullopt;
      t = now_;
    } else if (cur_.kind == tok::string) {
      const auto parsed = parse_time(cur_.text);
      if (!parsed || cur_.text.find_first_not_of("0123456789") == std::string::npos) {
        fail(error_code::bad_time, "invalid RFC 3339 time " + found());
        return std::nullopt;
      }
      t = *parsed;
      advance();
    } else if (cur_.kind == tok::integer || cur_.kind == tok::duration) {
      // An integer is nanoseconds; with a unit it counts that unit since the epoch.
      std::string_view text = cur_.text;
      std::int64_t mult = 1;
      if (cur_.kind == tok::duration) {
        std::size_t d = 0;
        while (d < text.size() && is_digit(text[d]))
          ++d;
        const auto unit = parse_duration("1" + std::string(text.substr(d)));
        if (!unit) {
          fail(error_code::bad_time, "invalid time " + found());
          return std::nullopt;
        }
        mult = *unit;
        text = text.substr(0, d);
      }
      std::int64_t n = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || n > INT64_MAX / mult) {
        fail(error_code::bad_time, "time out of range " + found());
        return std::nullopt;
      }
      t = n * mult;
      advance();
    } else if (cur_.kind == tok::minus) {
      fail(error_code::unsupported, "a negative time is not supported by tickring");
      return std::nullopt;
    } else {
      expected("now(), an RFC 3339 string or an integer time");
      return std::nullopt;
    }
    while (cur_.kind == tok::plus || cur_.kind == tok::minus) {
      const bool minus = cur_.kind == tok::minus;
      advance();
      if (cur_.kind != tok::duration) {
        expected("duration");
        return std::nullopt;
      }
      const auto d = parse_duration(cur_.text);
      if (!d) {
        fail(error_code::bad_time, "invalid duration " + found());
        return std::nullopt;
      }
      const bool overflow = minus ? t < INT64_MIN + *d : t > INT64_MAX - *d;
      if (overflow) {
        fail_at(error_code::bad_time, at, "time out of range");
        return std::nullopt;
      }
      t = minus ? t - *d : t + *d;
      advance();
    }
    return t;
  }

  std::string_view q_;
  time_ns now_;
  std::size_t pos_ = 0;
  token cur_;
  parse_error err_;
};

}  // namespace

parse_result parse(std::string_view query, time_ns now) {
  if (query.size() > kMaxQueryBytes) {
    parse_result r;
    r.error = {error_code::too_long, 0,
               "query longer than " + std::to_string(kMaxQueryBytes) + " bytes"};
    return r;
  }
  return parser(query, now).run();
}

}  // namespace tickring::protocol::influxql
