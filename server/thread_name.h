// Names the calling thread (as `top -H`, `perf` and gdb show it): tickring-server's threads
// are "ingest", "feed", "worker", "journal", "snapshot". Linux allows 15 bytes; longer names
// are cut. Any thread, about one system call.
#pragma once

#include <pthread.h>

#include <string>

namespace tickring::server {

inline void name_this_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace tickring::server
