// protocol::line_reassembler: any split of a stream gives the same lines, over-long lines are
// reported once and skipped, and a partial last line is dropped at end of input.
#include "protocol/line_reassembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace tickring::protocol {
namespace {

constexpr std::size_t kMax = 16;
constexpr std::size_t kChunk = 8;
const std::string kTooLong = "<too long>";

// Feeds `input` in pieces of the given sizes (each at most what space() offers), then EOF.
std::vector<std::string> run(std::string_view input, const std::vector<std::size_t>& cuts) {
  line_reassembler r(kMax, kChunk);
  std::vector<std::string> out;
  auto on_line = [&](std::string_view l) { out.emplace_back(l); };
  auto on_long = [&] { out.push_back(kTooLong); };
  std::size_t pos = 0;
  std::size_t k = 0;
  while (pos < input.size()) {
    auto room = r.space();
    EXPECT_FALSE(room.empty());
    std::size_t n = cuts.empty() ? room.size() : std::max<std::size_t>(1, cuts[k++ % cuts.size()]);
    n = std::min({n, room.size(), input.size() - pos});
    std::copy_n(input.data() + pos, n, room.data());
    r.commit(n, false, on_line, on_long);
    pos += n;
  }
  r.commit(0, true, on_line, on_long);
  return out;
}

TEST(LineReassembler, JoinsLinesSplitAcrossReads) {
  EXPECT_EQ(run("ab\ncd\nef\n", {1}), (std::vector<std::string>{"ab", "cd", "ef"}));
  EXPECT_EQ(run("ab\ncd\nef\n", {4}), (std::vector<std::string>{"ab", "cd", "ef"}));
}

TEST(LineReassembler, PartialLastLineIsDroppedAtEof) {
  EXPECT_EQ(run("ab\ncd", {3}), (std::vector<std::string>{"ab"}));
}

TEST(LineReassembler, OverLongLineIsReportedOnceWhetherSplitOrNot) {
  const std::string input = "ok\n" + std::string(40, 'x') + "\nafter\n";
  const std::vector<std::string> want{"ok", kTooLong, "after"};
  EXPECT_EQ(run(input, {}), want);
  EXPECT_EQ(run(input, {1}), want);
  EXPECT_EQ(run(input, {3, 7}), want);
}

TEST(LineReassembler, LineOfExactlyTheLimitPasses) {
  const std::string line(kMax, 'y');
  EXPECT_EQ(run(line + "\n", {5}), (std::vector<std::string>{line}));
  EXPECT_EQ(run(line + "z\n", {5}), (std::vector<std::string>{kTooLong}));
}

// The property: random streams of short, limit-sized, long and empty lines, split at random,
// give what splitting the whole input at its newlines gives.
TEST(LineReassembler, AnySplitGivesTheSameLines) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    std::vector<std::string> want;
    const int lines = static_cast<int>(rng() % 12);
    for (int i = 0; i < lines; ++i) {
      const std::size_t len = rng() % 3 == 0 ? rng() % 60 : rng() % (kMax + 2);
      std::string l(len, static_cast<char>('a' + rng() % 26));
      input += l;
      input += '\n';
      want.push_back(len > kMax ? kTooLong : l);
    }
    if (rng() % 2) {
      const std::size_t tail = rng() % 40;  // unterminated: dropped (reported if too long)
      input += std::string(tail, 't');
      if (tail > kMax) want.push_back(kTooLong);
    }
    std::vector<std::size_t> cuts;
    for (int i = 0; i < 5; ++i)
      cuts.push_back(1 + rng() % (kMax + kChunk));
    ASSERT_EQ(run(input, cuts), want) << "round " << round;
  }
}

}  // namespace
}  // namespace tickring::protocol
