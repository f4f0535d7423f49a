// Where the ingest thread's time goes, one stage at a time, for a 4-field quote over 1,000
// symbols: parse a line, look up its series, put into the ring, publish to a listener, and the
// whole path (parse + convert + apply, as the TCP feed's line_applier runs it).
//   build/release/bench/ingest_path_bench
// The publish hook's cost when nobody listens is the difference between the "apply" rows with
// and without a (no-op) listener.
#include <benchmark/benchmark.h>

#include <bit>
#include <string>
#include <vector>

#include "core/series_store.h"
#include "protocol/line_protocol.h"
#include "protocol/point_input.h"

namespace {

using namespace tickring;

constexpr int kSymbols = 1000;
constexpr core::time_ns kT0 = 1'700'000'000'000'000'000;

std::vector<std::string> symbols() {
  std::vector<std::string> s;
  for (int i = 0; i < kSymbols; ++i)
    s.push_back("SYM" + std::to_string(i));
  return s;
}

std::vector<std::string> quote_lines(int n) {
  std::vector<std::string> lines;
  lines.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    lines.push_back("quotes,sym=SYM" + std::to_string(i % kSymbols) + " bid=1.0842" +
                    std::to_string(i % 10) + ",ask=1.0843" + std::to_string(i % 7) +
                    ",bid_size=1000000i,ask_size=750000i " + std::to_string(kT0 + i));
  }
  return lines;
}

void BM_parse(benchmark::State& state) {
  const auto lines = quote_lines(10000);
  protocol::line_parser parser;
  protocol::parsed_line out;
  protocol::parse_error err;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parser.parse(lines[i], i, out, err));
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse);

void BM_lookup(benchmark::State& state) {
  core::series_store store;
  const auto syms = symbols();
  const core::field_input f[] = {{"bid", core::field_kind::float64, 0}};
  for (const auto& s : syms)
    (void)store.apply({"quotes", s, f, 1});
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.find("quotes", syms[i]));
    if (++i == syms.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_lookup);

// store.apply = lookup + field mapping + ring put (+ retention when configured).
void BM_apply(benchmark::State& state) {
  core::series_store store;
  const auto syms = symbols();
  core::field_input f[] = {{"bid", core::field_kind::float64, std::bit_cast<std::uint64_t>(1.08)},
                           {"ask", core::field_kind::float64, std::bit_cast<std::uint64_t>(1.09)},
                           {"bid_size", core::field_kind::int64, 1000000},
                           {"ask_size", core::field_kind::int64, 750000}};
  core::time_ns t = kT0;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.apply({"quotes", syms[i], f, t++}));
    if (++i == syms.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
// Bounded so that memory stays small: 2M quotes, as the ingest target's load.
BENCHMARK(BM_apply)->Iterations(2'000'000);

// What the ingest thread does per feed line (the server's line_applier is this plus relaxed
// counter increments and the hand-off to its sinks): parse, convert, apply.
void BM_parse_and_apply(benchmark::State& state) {
  core::series_store store;
  protocol::line_parser parser;
  protocol::parsed_line parsed;
  protocol::parse_error error;
  std::array<core::field_input, protocol::kMaxFieldsPerLine> scratch{};
  const auto lines = quote_lines(2'000'000);
  std::size_t i = 0;
  for (auto _ : state) {
    if (parser.parse(lines[i], i, parsed, error) == protocol::parse_status::ok) {
      benchmark::DoNotOptimize(store.apply(protocol::to_point_input(parsed, scratch, 0)));
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_and_apply)->Iterations(2'000'000);

}  // namespace

BENCHMARK_MAIN();
