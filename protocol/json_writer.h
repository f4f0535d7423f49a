// A small writer of JSON text into a caller's std::string: handlers say what they write
// (objects, arrays, keys, values) and the writer places the commas and colons, instead of
// handlers splicing punctuation into strings. No document tree, nothing allocated beyond the
// string's own growth: it is the answer path's writer for thousands of points per request.
//
//   std::string out;
//   json_writer w(out);
//   w.begin_object().key("symbol").value("EURUSD").key("points").begin_array();
//   w.value_with([&](std::string& o) { append_point_json(o, ...); });  // pre-built JSON
//   w.end_array().end_object();  // {"symbol":"EURUSD","points":[{..}]}
//
// Threads: one writer per string, on one thread. Strings are escaped as append_json_string
// does, numbers written as append_json_number does (json_text.h).
// REQUIRES: the calls form one valid JSON value (a key only directly inside an object and
// followed by exactly one value; every begin matched by its end); the writer does not check.
// Cost: O(1) state (one flag: whether the next value needs a comma), no nesting stack.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/json_text.h"

namespace tickring::protocol {

class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }

  // "name": — the next call writes its value.
  json_writer& key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_.push_back(':');
    comma_ = false;
    return *this;
  }

  json_writer& value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return done();
  }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(double v) {
    separate();
    append_json_number(out_, v);
    return done();
  }
  json_writer& value(std::int64_t v) {
    separate();
    append_json_number(out_, v);
    return done();
  }
  json_writer& value(std::uint64_t v) {
    separate();
    append_json_number(out_, v);
    return done();
  }
  json_writer& value(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return done();
  }
  json_writer& null() {
    separate();
    out_ += "null";
    return done();
  }
  // A value written by `write(std::string&)`, which must append exactly one JSON value
  // (a point from append_point_json): the writer only places the comma before it.
  template <class F>
  json_writer& value_with(F&& write) {
    separate();
    write(out_);
    return done();
  }

  std::string& text() { return out_; }

 private:
  void separate() {
    if (comma_) out_.push_back(',');
  }
  json_writer& done() {
    comma_ = true;
    return *this;
  }
  json_writer& open(char c) {
    separate();
    out_.push_back(c);
    comma_ = false;
    return *this;
  }
  json_writer& close(char c) {
    out_.push_back(c);
    return done();
  }

  std::string& out_;
  bool comma_ = false;  // a value was written at this level: the next one needs a comma
};

}  // namespace tickring::protocol
