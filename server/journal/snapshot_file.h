// Snapshot files in --data-dir (journal.h): their names and listing. Threads: any; reads the
// directory only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tickring::server::journal {

struct snapshot_file {
  std::uint64_t next_jseq;  // P: the first journal record the snapshot does not hold
  std::string path;
  std::uint64_t bytes;
};
// snap-<16 hex digits>.tsn files of `dir`, newest (highest P) first.
std::vector<snapshot_file> list_snapshots(const std::string& dir);
// Removes snap-*.tmp files: snapshots a run stopped (or crashed) in the middle of.
void remove_snapshot_temps(const std::string& dir);
std::string snapshot_path(const std::string& dir, std::uint64_t next_jseq);

}  // namespace tickring::server::journal
