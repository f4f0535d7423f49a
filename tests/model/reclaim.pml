/* SPIN model of core/reclaim.h: hazard-pointer reclamation of ring buffers with two reader
 * threads, each registering its hazard record first (a brand-new thread), and a writer that
 * publishes two new buffers, retires the old ones and runs the periodic pass.
 *
 * Run by run_spin.sh like ring.pml. Properties:
 *   safety    no reader touches a buffer after it was freed;
 *   bound     after the writer's last pass, every buffer still pending is one that a reader's
 *             hazard pointer held during that pass (a stalled reader pins only its own buffer,
 *             and nothing stays pending for want of another retirement);
 *   liveness  not modelled (a pass frees what no hazard holds; the bound covers the rest).
 * Spin is sequentially consistent. The one memory-order fact this model carries is the
 * registration: with a release CAS and an acquire load of the record list (the old code), the
 * pass may walk the list without a record whose hazard store and source re-load the reader
 * has already done, as if the push reached the pass late. SEEDED_LATE_REGISTRATION models
 * that by letting the push become visible to the pass at any later step; with seq_cst on both
 * (reclaim.cc) the push is visible to every pass that follows the reader's re-load.
 * Seeded bugs (each must be found):
 *   SEEDED_LATE_REGISTRATION  the record push is visible to the pass late (release/acquire);
 *   SEEDED_NO_RELOAD          protect() does not re-load the source after its hazard store.
 */

#define NBUF 3
#define NREADERS 2

byte cur = 0;            /* the published buffer */
bool freed[NBUF];
bool retired[NBUF];
byte hp[NREADERS];       /* hazard pointer: buffer + 1, 0 = none */
bool listed[NREADERS];   /* the reader's record is on the list as the pass sees it */
bool pushed[NREADERS];   /* the reader has pushed its record */

proctype reader(byte id) {
  byte p, again;
  /* Registration of a new thread's record. */
#ifdef SEEDED_LATE_REGISTRATION
  pushed[id] = true;     /* visible to the pass at some later step (see flusher) */
#else
  d_step { pushed[id] = true; listed[id] = true }
#endif
  /* protect(): load, hazard store, re-load until stable. */
  p = cur;
  do
  :: hp[id] = p + 1;
#ifdef SEEDED_NO_RELOAD
     break
#else
     again = cur;
     if
     :: again == p -> break
     :: else -> p = again
     fi
#endif
  od;
  /* Read the buffer (twice: the writer may act in between). */
  assert(!freed[p]);
  assert(!freed[p]);
  hp[id] = 0
}

#ifdef SEEDED_LATE_REGISTRATION
proctype flusher(byte id) {
  pushed[id] -> listed[id] = true
}
#endif

/* One reclaim pass: walk the list, collect hazards, free what no hazard holds. */
inline pass() {
  held = 0;
  r = 0;
  do
  :: r < NREADERS ->
     if
     :: listed[r] && hp[r] != 0 -> held = held | (1 << (hp[r] - 1))
     :: else -> skip
     fi;
     r++
  :: else -> break
  od;
  skip;  /* a break may not jump into the d_step */
  d_step {
    b = 0;
    do
    :: b < NBUF ->
       if
       :: retired[b] && !freed[b] && !((held >> b) & 1) -> freed[b] = true
       :: else -> skip
       fi;
       b++
    :: else -> break
    od
  }
}

proctype writer() {
  byte old, held, r, b;
  /* Two growths: publish the new buffer with one store, retire the old one, run a pass. */
  old = cur; cur = 1; retired[old] = true; pass();
  old = cur; cur = 2; retired[old] = true; pass();
  /* The periodic pass from the ingest timer; then the bound must hold, whatever the readers
   * are doing: what is still pending was held by a hazard pointer that the pass read. */
  pass();
  d_step {
    b = 0;
    do
    :: b < NBUF ->
       assert(!(retired[b] && !freed[b]) || ((held >> b) & 1));
       b++
    :: else -> break
    od
  }
}

init {
  atomic {
    run writer();
    run reader(0);
    run reader(1);
#ifdef SEEDED_LATE_REGISTRATION
    run flusher(0);
    run flusher(1);
#endif
  }
}
