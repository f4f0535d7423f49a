/* SPIN model of tickring's TimeSortedArray: one writer (ring_writer.pml) and one reader
 * (ring_reader.pml) on a ring of 4 cells that may grow to 8, times 1..7.
 *
 * Run by run_spin.sh (exhaustive safety search; every assertion must hold in every
 * interleaving). Options, given to spin as -D flags:
 *   READER_ITER   the reader walks the ring backwards instead of calling get(t);
 *   INIT_DEAD     start from a full ring with a removed cell in the middle;
 *   WOPS=n        writer operations per run (default 2);
 *   SEEDED_*      a deliberate bug (see ring_writer.pml) that the search must find.
 *
 * Properties: no skip (a time present throughout a get or an iteration is returned), no
 * phantom (every value returned was current at some instant of the call), no torn read,
 * iteration strictly decreasing, no access to a reclaimed buffer. Not modelled: memory orders
 * (Spin is sequentially consistent), size(), lowest()/highest(), more than one reader (reclaim.pml
 * models hazard-pointer registration and reclamation with two), more than one growth.
 */

#include "ring_state.pml"
#include "ring_writer.pml"
#include "ring_reader.pml"

init {
  byte gi;
  init_ring();
  atomic {
    run writer();
    run reader()
  }
}
