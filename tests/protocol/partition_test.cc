#include "protocol/partition.h"

#include <gtest/gtest.h>

namespace tickring::protocol {
namespace {

TEST(Partition, Fnv1aMatchesTheReferenceVectors) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Partition, IsTheHashOfMeasurementNewlineSymbol) {
  EXPECT_EQ(partition_of("quotes", "EURUSD", 1000), fnv1a_64("quotes\nEURUSD") % 1000);
  EXPECT_EQ(partition_of("quotes", "EURUSD", 1), 0U);
  // The separator matters: ("ab","c") and ("a","bc") are different series.
  EXPECT_NE(fnv1a_64("ab\nc"), fnv1a_64("a\nbc"));
}

TEST(Partition, SpreadsSymbolsOverPartitions) {
  std::vector<int> count(8);
  for (int i = 0; i < 8000; ++i)
    ++count[partition_of("quotes", "SYM" + std::to_string(i), 8)];
  for (int c : count) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

TEST(PartitionSet, ParsesListsAndRanges) {
  auto s = parse_partition_set("0-2, 5,7-7", 8);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->list(), (std::vector<std::uint32_t>{0, 1, 2, 5, 7}));
  EXPECT_EQ(s->to_string(), "0-2,5,7");
  EXPECT_TRUE(s->contains(5));
  EXPECT_FALSE(s->contains(6));
  EXPECT_FALSE(s->contains(100));
}

TEST(PartitionSet, RefusesBadSetsSayingWhy) {
  std::string why;
  EXPECT_FALSE(parse_partition_set("", 4, &why));
  EXPECT_EQ(why, "empty partition set");
  EXPECT_FALSE(parse_partition_set("0-4", 4, &why));
  EXPECT_EQ(why, "partition 4 is not below the partition count 4");
  EXPECT_FALSE(parse_partition_set("3-1", 4, &why));
  EXPECT_EQ(why, "range '3-1' is reversed");
  EXPECT_FALSE(parse_partition_set("1,1", 4, &why));
  EXPECT_EQ(why, "partition 1 is listed twice");
  EXPECT_FALSE(parse_partition_set("x", 4, &why));
  EXPECT_FALSE(parse_partition_set("0", 0, &why));
}

TEST(ClusterFile, ParsesAndRoutes) {
  std::string why;
  auto map = parse_cluster_file(
      "# two instances\n"
      "partitions 4\n"
      "instance 0-1 http://127.0.0.1:8080/\n"
      "\n"
      "instance 2,3 http://127.0.0.1:8081  # the second\n",
      &why);
  ASSERT_TRUE(map) << why;
  EXPECT_EQ(map->partitions, 4U);
  ASSERT_EQ(map->instances.size(), 2U);
  EXPECT_EQ(map->instances[0].url, "http://127.0.0.1:8080");
  EXPECT_EQ(map->owner(1).url, "http://127.0.0.1:8080");
  EXPECT_EQ(map->owner(3).url, "http://127.0.0.1:8081");
  const std::uint32_t p = partition_of("quotes", "EURUSD", 4);
  EXPECT_EQ(&map->owner_of("quotes", "EURUSD"), &map->owner(p));
}

TEST(ClusterFile, RefusesGapsOverlapsAndNonsenseNamingTheLine) {
  std::string why;
  EXPECT_FALSE(parse_cluster_file("partitions 4\ninstance 0-2 http://a:1\n", &why));
  EXPECT_EQ(why, "line 2: partition 3 has no instance");
  EXPECT_FALSE(
      parse_cluster_file("partitions 4\ninstance 0-2 http://a:1\ninstance 2-3 http://b:1\n", &why));
  EXPECT_EQ(why, "line 3: partition 2 is already owned (line 2)");
  EXPECT_FALSE(parse_cluster_file("instance 0 http://a:1\n", &why));
  EXPECT_EQ(why, "line 1: 'instance' before 'partitions N'");
  EXPECT_FALSE(parse_cluster_file("partitions 2\ninstance 0-1 a:1\n", &why));
  EXPECT_EQ(why, "line 2: 'a:1' is not an http:// URL");
  EXPECT_FALSE(parse_cluster_file("partitions 2\nnodes 3\n", &why));
  EXPECT_EQ(why, "line 2: unknown directive 'nodes' (expected 'partitions' or 'instance')");
  EXPECT_FALSE(parse_cluster_file("", &why));
  EXPECT_EQ(why, "line 0: no 'partitions N' line");
}

}  // namespace
}  // namespace tickring::protocol
