// Every check of a recorded single-writer history, in one call, with a report for people.
//
//   history h = run_ring_workload(w);             // ring_workload.h
//   const history_report r = check_history(h);
//   EXPECT_TRUE(r.ok) << r.text;
//
// What it runs, in order:
//  1. writer_replay: the writer's own results against std::map;
//  2. check_linearizable: exact, whole history (get, size, put, remove on all keys at once);
//  3. check_per_key: Wing & Gong / Lowe search per time (get, put, remove), an independent
//     second opinion on the keyed operations. By locality it must agree with (2) on them: if
//     it finds a key with no linearization while (2) passed, the report says the checkers
//     disagree (a checker bug) and fails;
//  4. check_iterators: order, no skip, no phantom.
// `ok` is the conjunction. The text lists each part's figures (operations, reads that overlapped
// a write, search steps, seconds) and the first violations with the states that could have
// explained them.
//
// Cost: (2) and (4) are linear-ish; (3) is bounded by `max_search_steps` per key.
#pragma once

#include <string>

#include "tests/linearizability/history.h"

namespace tickring::lincheck {

struct check_options {
  bool per_key_search = true;
  std::size_t max_search_steps = 5'000'000;  // per key; ample for ~10^4 operations on one time
};

struct history_report {
  bool ok = false;
  bool linearizable = false;         // (2)
  bool per_key_ok = false;           // (3), true when skipped
  bool iterators_ok = false;         // (4)
  std::size_t concurrent_reads = 0;  // get/size/iterate operations that overlapped a write
  double seconds = 0;
  std::string text;
};

[[nodiscard]] history_report check_history(const history& h, const check_options& o = {});

}  // namespace tickring::lincheck
