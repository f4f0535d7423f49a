// Line-protocol parse throughput: lines/s ("items_per_second") and time per line ("per_line").
//
//   build/<dir>/bench/line_protocol_bench --benchmark_min_time=2
//
// one_quote_line parses the same typical quote line again and again (hot caches: the parser's own
// cost); one_line/<kind> does the same for other shapes: five-decimal prices with a 19-digit
// timestamp, and a line with escapes, which takes the general path instead of the fast path.
// quote_buffer parses a 1 MiB-ish buffer of 1,000 symbols with rising timestamps through
// for_each_line, as the TCP ingest path does (newline search included, cold-ish data).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "protocol/line_protocol.h"

namespace {

using tickring::protocol::for_each_line;
using tickring::protocol::line_parser;
using tickring::protocol::parse_error;
using tickring::protocol::parse_status;
using tickring::protocol::parsed_line;

constexpr std::string_view kQuoteLine =
    "quotes,sym=EURUSD bid=1.0842,ask=1.0843,bid_size=1000000i,ask_size=750000i "
    "1700000000000000000";

// Like the README's ingest target: 1,000 symbols, 4 fields.
constexpr int kSymbols = 1000;
constexpr int kBufferLines = 10'000;

void set_counters(benchmark::State& state, std::int64_t lines) {
  state.SetItemsProcessed(lines);
  // Inverted rate: seconds per line, printed with an SI prefix ("130n" is 130 ns).
  state.counters["per_line"] = benchmark::Counter(
      static_cast<double>(lines), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void one_quote_line(benchmark::State& state) {
  line_parser parser;
  parsed_line out;
  parse_error err;
  for (auto _ : state) {
    const parse_status status = parser.parse(kQuoteLine, 1, out, err);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(out);
  }
  set_counters(state, static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(one_quote_line);

void one_line(benchmark::State& state, std::string_view line) {
  line_parser parser;
  parsed_line out;
  parse_error err;
  for (auto _ : state) {
    const parse_status status = parser.parse(line, 1, out, err);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(out);
  }
  if (parser.parse(line, 1, out, err) != parse_status::ok) state.SkipWithError("line rejected");
  set_counters(state, static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(one_line, five_decimals,
                  std::string_view("quotes,sym=SYM0042 bid=1.08421,ask=1.08432,bid_size=1000000i,"
                                   "ask_size=750000i 1700000000000000123"));
BENCHMARK_CAPTURE(one_line, escaped,
                  std::string_view("quotes,sym=EUR\\ USD bid\\ px=1.0842,ask=1.0843,"
                                   "bid_size=1000000i,ask_size=750000i 1700000000000000000"));

std::string make_buffer() {
  std::string buffer;
  std::int64_t t = 1'700'000'000'000'000'000;
  for (int i = 0; i < kBufferLines; ++i) {
    const int sym = i % kSymbols;
    const int pips = 8000 + (i * 7919) % 1000;
    buffer += "quotes,sym=S" + std::to_string(sym) + " bid=1." + std::to_string(pips) + ",ask=1." +
              std::to_string(pips + 1) + ",bid_size=" + std::to_string(1000 + sym) +
              "i,ask_size=" + std::to_string(750 + i % 500) + "i " + std::to_string(t += 1000) +
              "\n";
  }
  return buffer;
}

void quote_buffer(benchmark::State& state) {
  const std::string buffer = make_buffer();
  line_parser parser;
  parsed_line out;
  parse_error err;
  std::int64_t ok = 0;
  for (auto _ : state) {
    std::size_t line_no = 0;
    for_each_line(buffer, [&](std::string_view line) {
      ok += parser.parse(line, ++line_no, out, err) == parse_status::ok;
      benchmark::DoNotOptimize(out);
    });
  }
  if (ok != static_cast<std::int64_t>(state.iterations()) * kBufferLines) {
    state.SkipWithError("a benchmark line failed to parse");
  }
  set_counters(state, static_cast<std::int64_t>(state.iterations()) * kBufferLines);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(quote_buffer);

}  // namespace

BENCHMARK_MAIN();
