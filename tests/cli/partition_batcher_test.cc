#include "client-cli/partition_batcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "protocol/partition.h"

namespace tickring::cli {
namespace {

using add_result = partition_batcher::add_result;
using clock = partition_batcher::clock;

struct emitted {
  std::uint32_t partition;
  std::string payload;
  std::uint64_t lines;
};

// Small messages so that a few hundred quote lines span several.
constexpr std::size_t kSmallMessage = protocol::kMaxLineBytes + 1024;

struct fixture {
  explicit fixture(std::uint32_t partitions, std::size_t max_bytes = kMaxMessageBytes)
      : batcher(partitions, max_bytes,
                [this](std::uint32_t p, std::string_view payload, std::uint64_t lines) {
                  out.push_back({p, std::string(payload), lines});
                  return accept;
                }) {}
  add_result add(const std::string& line) { return batcher.add(line, ++line_no, error); }

  std::vector<emitted> out;
  bool accept = true;
  std::size_t line_no = 0;
  protocol::parse_error error;
  partition_batcher batcher;
};

std::string quote(const std::string& symbol, int i) {
  return "quotes,sym=" + symbol + " bid=" + std::to_string(i) + ".5,ask=2 " +
         std::to_string(1'700'000'000'000'000'000LL + i);
}

std::string symbol_of(std::string_view line) {
  const auto at = line.find("sym=") + 4;
  return std::string(line.substr(at, line.find(' ', at) - at));
}

std::vector<std::string> lines_of(const std::string& payload) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = payload.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(payload.substr(start, nl - start));
  }
  EXPECT_EQ(start, payload.size()) << "a message ends with a complete line";
  return lines;
}

TEST(PartitionBatcher, EveryLineGoesToTheDocumentedPartition) {
  constexpr std::uint32_t kPartitions = 8;
  fixture f(kPartitions);
  std::vector<std::string> in;
  for (int i = 0; i < 500; ++i) {
    in.push_back(quote("S" + std::to_string(i % 50), i));
    ASSERT_EQ(f.add(in.back()), add_result::added);
  }
  ASSERT_TRUE(f.batcher.flush_all());
  std::size_t total = 0;
  for (const emitted& e : f.out) {
    const auto lines = lines_of(e.payload);
    EXPECT_EQ(e.lines, lines.size());
    total += lines.size();
    for (const auto& line : lines) {
      EXPECT_EQ(protocol::partition_of("quotes", symbol_of(line), kPartitions), e.partition);
    }
  }
  EXPECT_EQ(total, in.size());
  EXPECT_EQ(f.batcher.buffered_bytes(), 0U);
}

TEST(PartitionBatcher, MessagesStayUnderTheLimitAndKeepTheOrder) {
  fixture f(1, kSmallMessage);
  std::string expected;
  for (int i = 0; i < 3000; ++i) {
    const std::string line = quote("EURUSD", i);
    expected += line + '\n';
    ASSERT_EQ(f.add(line), add_result::added);
  }
  ASSERT_TRUE(f.batcher.flush_all());
  ASSERT_GT(f.out.size(), 2U);
  std::string joined;
  for (const emitted& e : f.out) {
    EXPECT_LE(e.payload.size(), kSmallMessage);
    // Full: the next line would not have fitted.
    if (&e != &f.out.back()) {
      EXPECT_GT(e.payload.size() + 64, kSmallMessage);
    }
    joined += e.payload;
  }
  EXPECT_EQ(joined, expected);
}

TEST(PartitionBatcher, ALineWithoutTimestampGetsThePublishersClock) {
  fixture f(1);
  const auto before = std::chrono::system_clock::now().time_since_epoch();
  ASSERT_EQ(f.add("quotes,sym=EURUSD bid=1.5\r"), add_result::added);
  const auto after = std::chrono::system_clock::now().time_since_epoch();
  ASSERT_TRUE(f.batcher.flush_all());
  ASSERT_EQ(f.out.size(), 1U);
  const std::string& p = f.out[0].payload;
  ASSERT_TRUE(p.starts_with("quotes,sym=EURUSD bid=1.5 ")) << p;
  const long long stamp = std::stoll(p.substr(p.rfind(' ') + 1));
  EXPECT_GE(stamp, std::chrono::duration_cast<std::chrono::nanoseconds>(before).count());
  EXPECT_LE(stamp, std::chrono::duration_cast<std::chrono::nanoseconds>(after).count());
}

TEST(PartitionBatcher, BadLinesAreRejectedAndBlankLinesSkipped) {
  fixture f(2);
  EXPECT_EQ(f.add("# a comment"), add_result::skipped);
  EXPECT_EQ(f.add(""), add_result::skipped);
  EXPECT_EQ(f.add("quotes,sym=X bid=oops 1"), add_result::rejected);
  EXPECT_EQ(f.error.to_string(), "line 3, byte 17: " + f.error.reason);
  EXPECT_EQ(f.add("quotes bid=1 1"), add_result::rejected);
  ASSERT_TRUE(f.batcher.flush_all());
  EXPECT_TRUE(f.out.empty());
}

TEST(PartitionBatcher, LingerFlushesOnlyOldBatches) {
  fixture f(4);
  EXPECT_EQ(f.batcher.oldest(), clock::time_point::max());
  ASSERT_EQ(f.add(quote("A", 1)), add_result::added);
  const auto now = clock::now();
  EXPECT_LE(f.batcher.oldest(), now);
  ASSERT_TRUE(f.batcher.flush_older_than(std::chrono::hours(1), now));
  EXPECT_TRUE(f.out.empty());
  ASSERT_TRUE(f.batcher.flush_older_than(std::chrono::milliseconds(0), now));
  ASSERT_EQ(f.out.size(), 1U);
  EXPECT_EQ(f.batcher.oldest(), clock::time_point::max());
}

TEST(PartitionBatcher, OpenBatchesTogetherStayUnderTheBufferCap) {
  // 4096 partitions of 1 MiB would be 4 GiB: the cap flushes them long before.
  fixture f(protocol::kMaxPartitions);
  for (int i = 0; i < 2'000'000 && f.out.empty(); ++i) {
    ASSERT_EQ(f.add(quote("S" + std::to_string(i), i)), add_result::added);
    ASSERT_LE(f.batcher.buffered_bytes(), kMaxBufferedBytes);
  }
  EXPECT_FALSE(f.out.empty());
}

TEST(PartitionBatcher, APublisherFailureStopsIt) {
  fixture f(1, kSmallMessage);
  f.accept = false;
  add_result r = add_result::added;
  for (int i = 0; i < 3000 && r == add_result::added; ++i)
    r = f.add(quote("EURUSD", i));
  EXPECT_EQ(r, add_result::failed);
  EXPECT_EQ(f.add(quote("EURUSD", 0)), add_result::failed);
  EXPECT_FALSE(f.batcher.flush_all());
}

}  // namespace
}  // namespace tickring::cli
