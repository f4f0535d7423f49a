#include "protocol/partition.h"

#include <fmt/format.h>

#include <charconv>

#include "protocol/text.h"

namespace tickring::protocol {
namespace {

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  s = trim(s);
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits off the next whitespace-separated word of `rest`.
std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  std::size_t n = 0;
  while (n < rest.size() && rest[n] != ' ' && rest[n] != '\t')
    ++n;
  const std::string_view word = rest.substr(0, n);
  rest.remove_prefix(n);
  return word;
}

}  // namespace

std::uint64_t fnv1a_64(std::string_view bytes, std::uint64_t hash) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint32_t partition_of(std::string_view measurement, std::string_view symbol,
                           std::uint32_t partitions) {
  std::uint64_t h = fnv1a_64(measurement);
  h = fnv1a_64("\n", h);
  h = fnv1a_64(symbol, h);
  return static_cast<std::uint32_t>(h % partitions);
}

std::vector<std::uint32_t> partition_set::list() const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < owned.size(); ++p)
    if (owned[p]) out.push_back(p);
  return out;
}

std::string partition_set::to_string() const {
  std::string out;
  const auto n = static_cast<std::uint32_t>(owned.size());
  for (std::uint32_t p = 0; p < n;) {
    if (!owned[p]) {
      ++p;
      continue;
    }
    std::uint32_t q = p;
    while (q + 1 < n && owned[q + 1])
      ++q;
    if (!out.empty()) out += ',';
    out += q == p ? fmt::format("{}", p) : fmt::format("{}-{}", p, q);
    p = q + 1;
  }
  return out;
}

std::optional<partition_set> parse_partition_set(std::string_view text, std::uint32_t partitions,
                                                 std::string* error) {
  auto fail = [&](std::string what) -> std::optional<partition_set> {
    if (error) *error = std::move(what);
    return std::nullopt;
  };
  if (partitions == 0 || partitions > kMaxPartitions)
    return fail(fmt::format("partition count {} is not in 1..{}", partitions, kMaxPartitions));
  partition_set set;
  set.owned.assign(partitions, false);
  text = trim(text);
  if (text.empty()) return fail("empty partition set");
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t dash = item.find('-');
    const auto lo = parse_u32(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : parse_u32(item.substr(dash + 1));
    if (!lo || !hi) return fail(fmt::format("'{}' is not a partition or a range a-b", item));
    if (*lo > *hi) return fail(fmt::format("range '{}' is reversed", item));
    if (*hi >= partitions)
      return fail(fmt::format("partition {} is not below the partition count {}", *hi, partitions));
    for (std::uint32_t p = *lo; p <= *hi; ++p) {
      if (set.owned[p]) return fail(fmt::format("partition {} is listed twice", p));
      set.owned[p] = true;
    }
  }
  return set;
}

const cluster_instance& cluster_map::owner(std::uint32_t p) const {
  for (const auto& i : instances)
    if (i.partitions.contains(p)) return i;
  return instances.front();  // unreachable after a successful parse: every partition is owned
}

std::optional<cluster_map> parse_cluster_file(std::string_view text, std::string* error) {
  cluster_map map;
  std::vector<int> owner_line;
  int line_no = 0;
  auto fail = [&](std::string what) -> std::optional<cluster_map> {
    if (error) *error = fmt::format("line {}: {}", line_no, what);
    return std::nullopt;
  };
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::string_view rest = line;
    const std::string_view directive = next_word(rest);
    if (directive.empty()) continue;
    if (directive == "partitions") {
      if (map.partitions != 0) return fail("'partitions' given twice");
      const auto n = parse_u32(rest);
      if (!n || *n == 0 || *n > kMaxPartitions)
        return fail(fmt::format("'partitions' needs a count in 1..{}", kMaxPartitions));
      map.partitions = *n;
      owner_line.assign(*n, 0);
    } else if (directive == "instance") {
      if (map.partitions == 0) return fail("'instance' before 'partitions N'");
      const std::string_view set_text = next_word(rest);
      const std::string_view url = next_word(rest);
      if (url.empty() || !trim(rest).empty())
        return fail("expected 'instance <partitions> <http://host:port>'");
      if (url.substr(0, 7) != "http://" && url.substr(0, 8) != "https://")
        return fail(fmt::format("'{}' is not an http:// URL", url));
      std::string why;
      auto set = parse_partition_set(set_text, map.partitions, &why);
      if (!set) return fail(why);
      for (const std::uint32_t p : set->list()) {
        if (owner_line[p] != 0)
          return fail(fmt::format("partition {} is already owned (line {})", p, owner_line[p]));
        owner_line[p] = line_no;
      }
      std::string u(url);
      while (!u.empty() && u.back() == '/')
        u.pop_back();
      map.instances.push_back({std::move(*set), std::move(u)});
    } else {
      return fail(
          fmt::format("unknown directive '{}' (expected 'partitions' or 'instance')", directive));
    }
  }
  if (map.partitions == 0) return fail("no 'partitions N' line");
  for (std::uint32_t p = 0; p < map.partitions; ++p)
    if (owner_line[p] == 0) return fail(fmt::format("partition {} has no instance", p));
  return map;
}

}  // namespace tickring::protocol
