/* One reader of the TimeSortedArray model: get(t) (time_sorted_array_read.h, find) or, with
 * READER_ITER, a whole backward iteration from `to`. The time t (or `to`) is chosen
 * non-deterministically, and so is every probe of the search (any position strictly between
 * lo and hi), which covers interpolation, bisection and every other probe order at once.
 *
 * Assertions (ghost state in ring_state.pml):
 *   no torn read   every value returned has w1 == w2;
 *   get            a value returned was t's value at some instant of the call, and "absent"
 *                  is returned only if t was absent at some instant (so a time present
 *                  throughout is always found);
 *   iterator       times strictly decrease; every pair yielded was in the map at some instant
 *                  of its life; every time <= `to` present for its whole life is yielded;
 *   reclamation    the buffer the reader holds was not freed before the reader left.
 */

/* Seqlocked copy of the cell at position P of buffer b into rpos, rtime, rw1, rw2; its
 * version in v1. */
inline read_at(P) {
  do
  :: v1 = CELL(b, P).ver;
     if
     :: v1 % 2 == 1 -> skip  /* being written: retry */
     :: else ->
        rpos = CELL(b, P).pos;
        rtime = CELL(b, P).time;
        rw1 = CELL(b, P).w1;
        rw2 = CELL(b, P).w2;
        if
        :: CELL(b, P).ver == v1 -> break
        :: else -> skip
        fi
     fi
  od
}

/* hazard_guard::protect: load the published buffer, store the hazard pointer, re-load until
 * stable; then the buffer's header. */
inline enter() {
  ghost_invoke();
  b = cur;
  do
  :: hazard = b + 1;
     if
     :: cur == b -> break
     :: else -> b = cur
     fi
  od;
  head = buf[b].head;
  tail = buf[b].tail;
  committed = buf[b].committed
}

inline leave() {
  assert(!freed[b]);
  hazard = 0
}

/* Search for t in (lo, hi): keeps "the cell at hi was read > t, or hi is the tail". With
 * STOP_EQUAL a cell holding t ends the search (found_at = true). */
inline search(STOP_EQUAL) {
  lo = head - 1;
  hi = tail;
  found_at = false;
  do
  :: hi - lo > 1 && !found_at ->
     select (mid : lo + 1 .. hi - 1);
     read_at(mid);
     if
     :: rpos < mid || (rpos == mid && rtime > t) -> hi = mid
     :: rpos > mid || (rpos == mid && rtime < t) -> lo = mid
     :: rpos == mid && rtime == t && STOP_EQUAL -> found_at = true
     :: rpos == mid && rtime == t && !STOP_EQUAL -> lo = mid
     fi
  :: else -> break
  od
}

proctype reader() {
  byte b, t, committed, rtime, rw1, rw2, v1, gi, last;
  short head, tail, lo, hi, mid, p, rpos;
  bool found = false, found_at, started = false;
  int yielded = 0;

  if
  :: t = 1 :: t = 2 :: t = 3 :: t = 4 :: t = 5 :: t = 6 :: t = 7
#ifdef READER_ITER
  :: t = MAXTIME
#endif
  fi;
  enter();
#ifndef READER_ITER
  if
  :: head >= tail -> goto get_done
  :: else -> skip
  fi;
  search(true);
  if
  :: found_at -> goto answer
  :: else -> p = hi - 1
  fi;
scan:  /* toward the head, the way points move: t, if present throughout, is met */
  if
  :: p < head ->
     head = buf[b].head;
     if
     :: p < head -> goto get_done
     :: else -> skip
     fi
  :: else -> skip
  fi;
  read_at(p);
  if
  :: rpos > p -> goto get_done  /* slot reused above the head: t is gone */
  :: rpos < p || (rpos == p && rtime > t) -> p--; goto scan
  :: rpos == p && rtime < t -> goto get_done
  :: rpos == p && rtime == t -> skip
  fi;
answer:
  if
  :: DEPENDS(v1, committed) -> committed = buf[b].committed
  :: else -> skip
  fi;
  found = VISIBLE(v1, committed);
get_done:
  leave();
  if
  :: found -> assert(rw1 == rw2); assert((seen[t] >> rw1) & 1)
  :: else -> assert(seen[t] & 1)
  fi
#else
  /* backward_iterator: t is `to`, MAXTIME for "from the newest" */
  p = tail - 1;
  last = t;
  if
  :: t != MAXTIME && head < tail -> search(false); p = hi - 1
  :: else -> skip
  fi;
next:
  if
  :: p < head ->
     head = buf[b].head;
     if
     :: p < head -> goto iter_done
     :: else -> skip
     fi
  :: else -> skip
  fi;
  read_at(p);
  if
  :: rpos > p -> goto iter_done
  :: rpos < p -> p--; goto next
  :: rpos == p && ((started && rtime >= last) || (!started && rtime > last)) -> p--; goto next
  :: else -> skip
  fi;
  if
  :: DEPENDS(v1, committed) -> committed = buf[b].committed
  :: else -> skip
  fi;
  if
  :: !VISIBLE(v1, committed) -> p--; goto next
  :: else -> skip
  fi;
  assert(rw1 == rw2);
  assert((seen[rtime] >> rw1) & 1);
  assert(!started || rtime < last);
  d_step { yielded = yielded | (1 << rtime); last = rtime; started = true; p-- }
  goto next;
iter_done:
  leave();
  d_step {
    gi = 1;
    do
    :: gi < NKEYS ->
       assert(!(stable[gi] && gi <= t) || ((yielded >> gi) & 1));
       gi++
    :: else -> break
    od
  }
#endif
}
