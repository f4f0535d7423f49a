// The backward iterator's contract (docs/design.md), checked on recorded histories.
//
// An iterator is not linearizable (it reads over a stretch of time while the writer goes on),
// so it is checked as three properties of each `iterate` operation of a reader, whose life is
// [inv, resp] (created just after inv, last next() just before resp):
//  1. order: the yielded times strictly decrease, and none is above its `to`;
//  2. no skip: every time present during the whole life, at or below `to` (and above the last
//     yielded time when the reader stopped early), is yielded;
//  3. no phantom: every yielded (time, value) was in the map at some instant of the life.
// "During the whole life" and "at some instant" are judged against the states S_lo..S_hi that
// the single writer may have made current while the iterator lived (writer_replay::window).
// Both judgements are conservative: a time counts as present throughout only if it is present
// in every one of those states, and a pair is a phantom only if it is in none of them, so a
// correct iterator is never reported; a real skip or phantom is, once the run catches one.
//
// Cost: O(yields * log m + (live + 256) * log m) per iteration (writer_replay::keys_at).
#pragma once

#include <string>

#include "tests/linearizability/history.h"
#include "tests/linearizability/single_writer_checker.h"
#include "tests/linearizability/writer_replay.h"

namespace tickring::lincheck {

struct iterator_verdict {
  verdict v;                 // v.reads counts iterations here
  std::size_t yielded = 0;   // pairs checked
  std::size_t required = 0;  // (iteration, time) pairs that had to be yielded
};

// REQUIRES: `w` was built from h.threads[0] and has no error.
[[nodiscard]] iterator_verdict check_iterators(const history& h, const writer_replay& w);

}  // namespace tickring::lincheck
