// Little-endian fixed-width fields for the journal's and the snapshot's records: written by
// appending to a string, read from bytes the caller has bounds-checked.
//
// Pure; thread-safe. Little-endian hosts only (x86-64, arm64): the files are read on the
// machine kind that wrote them. Cost: one memcpy per field.
#pragma once

#include <cstring>
#include <string>

namespace tickring::server::journal {

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

// REQUIRES: p points at sizeof(T) readable bytes.
template <class T>
T get(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace tickring::server::journal
