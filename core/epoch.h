// The names of the former epoch-based reclamation, kept for existing callers (the server's
// /metrics). Reclamation is now by hazard pointers: see reclaim.h.
#pragma once

#include <cstddef>

#include "core/reclaim.h"

namespace tickring::core {

// Frees every retired buffer that no reader holds; returns how many were freed.
inline std::size_t epoch_try_reclaim() {
  return reclaim_now();
}

// Retired buffers not yet freed.
inline std::size_t epoch_pending() {
  return reclaim_pending();
}

}  // namespace tickring::core
