/* The single writer of the TimeSortedArray model: core/time_sorted_array_write.h step by step.
 * It runs WOPS operations, each chosen non-deterministically among put(t) and remove(t) for
 * t = 1..7 and remove_lowest(), so Spin explores every sequence of appends, prepends, middle
 * inserts with shifts, overwrites, reuse of removed cells, logical and lowest removals, and
 * growth/compaction into a new buffer published by one store. What the writer reads it owns,
 * so its decisions are computed in d_steps; every store a reader can see is its own step.
 *
 * Seeded bugs (each must make Spin report a violation; tests/model/CMakeLists.txt):
 *   SEEDED_SHIFT_TOWARD_TAIL    a middle insert moves the cells above it toward the tail;
 *   SEEDED_NO_WRITING_BIT       write_cell does not mark the cell as being written;
 *   SEEDED_PUBLISH_BEFORE_COPY  growth publishes the new buffer before filling it;
 *   SEEDED_RECLAIM_EARLY        the old buffer is freed without waiting for the reader.
 */

#ifndef WOPS
#define WOPS 2
#endif

/* One cell write under its seqlock; LIN: the version store is the linearization point of an
 * overwrite of time T with value W (the change's sequence number). */
inline write_cell(B, P, V, T, W, LIN) {
#ifndef SEEDED_NO_WRITING_BIT
  CELL(B, P).ver = CELL(B, P).ver | 1;
#endif
  CELL(B, P).pos = P;
  CELL(B, P).time = T;
  CELL(B, P).w1 = W;
  CELL(B, P).w2 = W;
  d_step {
    CELL(B, P).ver = V;
    if
    :: LIN -> ghost_set(T, W)
    :: else -> skip
    fi
  }
}

/* A point moves with its version (it keeps its sequence number). */
inline move_cell(TO, FROM) {
  d_step { vv = CELL(b, FROM).ver; tt = CELL(b, FROM).time; ww = CELL(b, FROM).w1 }
  write_cell(b, TO, vv, tt, ww, false)
}

/* First position in [head, tail] whose time is > t (the writer's view is sorted). */
inline upper_bound() {
  d_step {
    k = head;
    do
    :: k < tail && CELL(b, k).time <= t -> k++
    :: else -> break
    od
  }
}

/* Growth (or compaction at the same size): copy the live cells into the other buffer,
 * publish it with one store, retire the old one to hazard-pointer reclamation. */
inline make_room() {
#ifdef SEEDED_PUBLISH_BEFORE_COPY
  cur = 1 - b;
#endif
  d_step {
    nb = 1 - b;
    assert(freed[nb] || nb == 1);  /* never rebuild a buffer a reader may hold */
    if
    :: live + 1 > (buf[b].mask + 1) / 2 -> buf[nb].mask = buf[b].mask * 2 + 1
    :: else -> buf[nb].mask = buf[b].mask
    fi;
    assert(buf[nb].mask < NCELLS);
    q = 0;
    do
    :: q < NCELLS -> buf[nb].c[q].ver = 0; buf[nb].c[q].pos = NOPOS; q++
    :: else -> break
    od;
    q = 0;
    p = head;
    do
    :: p < tail ->
       if
       :: KIND(CELL(b, p).ver) != K_REMOVE ->
          CELL(nb, q).ver = CELL(b, p).ver; CELL(nb, q).pos = q;
          CELL(nb, q).time = CELL(b, p).time;
          CELL(nb, q).w1 = CELL(b, p).w1; CELL(nb, q).w2 = CELL(b, p).w2;
          q++
       :: else -> skip
       fi;
       p++
    :: else -> break
    od;
    buf[nb].head = 0; buf[nb].tail = q; buf[nb].committed = buf[b].committed;
    freed[nb] = false
  }
  cur = nb;
#ifdef SEEDED_RECLAIM_EARLY
  freed[b] = true;
#else
  a = hazard;  /* the pass reads the reader's hazard pointer */
  if
  :: a != b + 1 -> freed[b] = true
  :: else -> skip  /* held: a later pass frees it (reclaim.pml models the passes) */
  fi;
#endif
  d_step { b = nb; head = 0; tail = q }
}

proctype writer() {
  byte b = 0, nb, s, t, vv, tt, ww, tag, a, n = 0, live = 3;
  short head, tail, k, d, p, q;
#ifdef INIT_DEAD
  byte nseq = 6;
#else
  byte nseq = 4;
#endif

next_op:
  if
  :: n == WOPS -> goto done
  :: else -> n++
  fi;
  if
  :: t = 1 :: t = 2 :: t = 3 :: t = 4 :: t = 5 :: t = 6 :: t = 7
  fi;
  if  /* remove_lowest() is remove(time at the head): remove(t) of the lowest t covers it */
  :: goto put
  :: goto remove
  fi;

put: skip;
  d_step { s = nseq; nseq++; head = buf[b].head; tail = buf[b].tail }
  if
  :: head == tail -> goto append
  :: else -> skip
  fi;
  d_step { tt = CELL(b, tail - 1).time; vv = CELL(b, tail - 1).ver; ww = CELL(b, head).time }
  if  /* tt: newest time, vv: its version, ww: oldest time */
  :: t > tt && KIND(vv) != K_REMOVE -> goto append
  :: t > tt && KIND(vv) == K_REMOVE ->
     p = tail - 1; goto write_new  /* reuse a removed newest cell: its time only grows */
  :: t == tt -> p = tail - 1; goto overwrite_at
  :: t < tt && t == ww -> p = head; goto overwrite_at
  :: t < tt && t < ww -> goto prepend
  :: t < tt && t > ww -> skip  /* middle */
  fi;
  upper_bound();
  if
  :: CELL(b, k - 1).time == t -> p = k - 1; goto overwrite_at
  :: CELL(b, k - 1).time != t && KIND(CELL(b, k - 1).ver) == K_REMOVE ->
     p = k - 1; goto write_new  /* a removed cell just below: its time only grows */
  :: else -> skip
  fi;
#ifdef SEEDED_SHIFT_TOWARD_TAIL
  if
  :: tail - head < buf[b].mask + 1 ->
     p = tail;
     do
     :: p > k -> move_cell(p, p - 1); p--
     :: else -> break
     od;
     buf[b].tail = tail + 1;
     p = k;
     goto write_new
  :: else -> skip
  fi;
#endif
  /* Middle insert: shift the cells below k one step toward the head, lowest first, into the
   * nearest dead cell, else into a new cell below the head. */
  d_step {
    d = k - 2;
    do
    :: d >= head && KIND(CELL(b, d).ver) != K_REMOVE -> d--
    :: else -> break
    od
  }
  if
  :: d < head ->
     if
     :: tail - head == buf[b].mask + 1 -> make_room(); upper_bound()
     :: else -> skip
     fi;
     d = head - 1;
     move_cell(d, head);
     buf[b].head = d;
     d_step { head = d; d++ }
  :: else -> skip
  fi;
  p = d;
  do
  :: p < k - 1 -> move_cell(p, p + 1); p++
  :: else -> break
  od;
  p = k - 1;
  goto write_new;

append:
  if
  :: tail - head == buf[b].mask + 1 -> make_room()
  :: else -> skip
  fi;
  write_cell(b, tail, VER(s, K_INSERT), t, s, false);
  buf[b].tail = tail + 1;
  goto inserted;

prepend:
  if
  :: tail - head == buf[b].mask + 1 -> make_room()
  :: else -> skip
  fi;
  write_cell(b, head - 1, VER(s, K_INSERT), t, s, false);
  buf[b].head = head - 1;
  goto inserted;

overwrite_at:
  if
  :: KIND(CELL(b, p).ver) == K_REMOVE -> goto write_new  /* revive a removed time */
  :: else -> skip
  fi;
  write_cell(b, p, VER(s, K_OVER), t, s, true);
  buf[b].committed = s;
  goto next_op;

write_new:
  write_cell(b, p, VER(s, K_INSERT), t, s, false);
inserted: skip;
  d_step { buf[b].committed = s; ghost_set(t, s); live++ }
  goto next_op;

remove: skip;
  d_step {
    head = buf[b].head; tail = buf[b].tail;
    p = NOPOS;
    if
    :: head == tail -> skip
    :: head < tail && CELL(b, head).time == t -> p = head
    :: head < tail && CELL(b, head).time != t && CELL(b, tail - 1).time == t -> p = tail - 1
    :: head < tail && CELL(b, head).time != t && CELL(b, tail - 1).time != t ->
       k = head;
       do
       :: k < tail && CELL(b, k).time <= t -> k++
       :: else -> break
       od;
       if
       :: k - 1 >= head && CELL(b, k - 1).time == t -> p = k - 1
       :: else -> skip
       fi
    fi;
    if
    :: p != NOPOS && KIND(CELL(b, p).ver) == K_REMOVE -> p = NOPOS
    :: else -> skip
    fi
  }
  if
  :: p == NOPOS -> goto next_op  /* absent: no store, no change */
  :: else -> skip
  fi;
  d_step { s = nseq; nseq++ }
  CELL(b, p).ver = VER(s, K_REMOVE);  /* set_version: the payload stays */
  d_step { buf[b].committed = s; ghost_set(t, 0); live-- }
  if
  :: p == head ->
     d_step {
       k = head + 1;
       do
       :: k < tail && KIND(CELL(b, k).ver) == K_REMOVE -> k++
       :: else -> break
       od
     }
     buf[b].head = k
  :: else -> skip
  fi;
  goto next_op;

done:
  skip
}
