/* Shared state of the TimeSortedArray model (ring.pml): two buffers of cells, the published
 * buffer index, the reader's hazard pointer, and the ghost state the assertions read.
 *
 * What is modelled (core/ring_cell.h, core/ring_buffer.h): a cell is a seqlock whose version
 * byte is seq<<3 | kind<<1 | writing; its payload is the logical position it holds, its time
 * and a value of two words (w1, w2: both the sequence number of the write, so a copy with
 * w1 != w2 is torn). A buffer has head, tail (logical positions; slot = pos & mask) and the
 * committed sequence. Every load and store of a shared variable is one step; Spin interleaves
 * steps under sequential consistency, so this model finds logic races (a miss during a shift,
 * slot reuse, a resize race), not memory-order bugs (those are left to ThreadSanitizer and the
 * linearizability stress tests).
 */

#define NCELLS   8     /* cells per buffer at most; buffer 0 starts with 4 (mask 3) */
#define NOPOS    (-1000) /* a slot that never held a position: below every real position */
#define MAXTIME  15    /* iterate_backwards(): from the newest time */
#define NKEYS    8     /* times 1..7 */

#define K_NONE   0
#define K_INSERT 1
#define K_OVER   2
#define K_REMOVE 3

#define VER(s, k)   ((s) * 8 + (k) * 2)
#define SEQ(v)      ((v) / 8)
#define KIND(v)     (((v) / 2) % 4)
#define SLOT(b, p)  ((p) & buf[b].mask)
#define CELL(b, p)  buf[b].c[SLOT(b, p)]

/* visible_at / depends_on_commit of ring_cell.h */
#define VISIBLE(v, c) ((KIND(v) == K_INSERT && SEQ(v) <= (c)) || KIND(v) == K_OVER || \
                       (KIND(v) == K_REMOVE && SEQ(v) > (c)))
#define DEPENDS(v, c) ((KIND(v) == K_INSERT || KIND(v) == K_REMOVE) && SEQ(v) > (c))

typedef cell {
  byte ver;
  short pos;
  byte time;
  byte w1;
  byte w2
};

typedef buffer {
  cell c[NCELLS];
  short head;
  short tail;
  byte committed;
  byte mask
};

buffer buf[2];
byte cur = 0;          /* the published buffer (time_sorted_array::buf_) */

/* Hazard-pointer reclamation (core/reclaim.h) for one reader: the buffer its hazard pointer
 * holds (buffer + 1; 0: none), and which buffers the writer has freed. A reader touching a freed
 * buffer
 * fails an assertion. */
byte hazard = 0;
bool freed[2];

/* Ghost state: the abstract map, changed by the writer at each linearization point (the
 * commit of an insert or removal, the version store of an overwrite), and what the reader may
 * have seen since it was invoked:
 *   absval[t]: the value at time t (its sequence number), 0 when absent;
 *   seen[t]:   bit v set if t held value v at some instant of the reader's operation, bit 0
 *              if t was absent at some instant;
 *   stable[t]: t has been present since the reader was invoked (an overwrite keeps it). */
byte absval[NKEYS];
int seen[NKEYS];
bool stable[NKEYS];

/* The linearization point of a change to time t. */
inline ghost_set(t, v) {
  absval[t] = v;
  seen[t] = seen[t] | (1 << v);
  if
  :: v == 0 -> stable[t] = false
  :: else -> skip
  fi
}

/* The reader's invocation: forget the past. */
inline ghost_invoke() {
  d_step {
    gi = 1;
    do
    :: gi < NKEYS ->
       seen[gi] = 1 << absval[gi];
       stable[gi] = absval[gi] != 0;
       gi++
    :: else -> break
    od
  }
}

/* Initial ring, in buffer 0 (capacity 4): times 2, 4, 6 at positions 0..2, written by changes
 * 1..3; with INIT_DEAD, times 2, 3 (inserted by change 2, removed by change 5), 4, 6 at
 * positions 0..3 (full, one dead cell in the middle). */
inline init_ring() {
  d_step {
    gi = 0;
    do
    :: gi < NCELLS ->
       buf[0].c[gi].pos = NOPOS; buf[1].c[gi].pos = NOPOS; gi++
    :: else -> break
    od;
    buf[0].mask = 3;
#ifdef INIT_DEAD
    buf[0].c[0].ver = VER(1, K_INSERT); buf[0].c[0].pos = 0; buf[0].c[0].time = 2;
    buf[0].c[0].w1 = 1; buf[0].c[0].w2 = 1;
    buf[0].c[1].ver = VER(5, K_REMOVE); buf[0].c[1].pos = 1; buf[0].c[1].time = 3;
    buf[0].c[1].w1 = 2; buf[0].c[1].w2 = 2;
    buf[0].c[2].ver = VER(3, K_INSERT); buf[0].c[2].pos = 2; buf[0].c[2].time = 4;
    buf[0].c[2].w1 = 3; buf[0].c[2].w2 = 3;
    buf[0].c[3].ver = VER(4, K_INSERT); buf[0].c[3].pos = 3; buf[0].c[3].time = 6;
    buf[0].c[3].w1 = 4; buf[0].c[3].w2 = 4;
    buf[0].head = 0; buf[0].tail = 4; buf[0].committed = 5;
    absval[2] = 1; absval[4] = 3; absval[6] = 4;
#else
    buf[0].c[0].ver = VER(1, K_INSERT); buf[0].c[0].pos = 0; buf[0].c[0].time = 2;
    buf[0].c[0].w1 = 1; buf[0].c[0].w2 = 1;
    buf[0].c[1].ver = VER(2, K_INSERT); buf[0].c[1].pos = 1; buf[0].c[1].time = 4;
    buf[0].c[1].w1 = 2; buf[0].c[1].w2 = 2;
    buf[0].c[2].ver = VER(3, K_INSERT); buf[0].c[2].pos = 2; buf[0].c[2].time = 6;
    buf[0].c[2].w1 = 3; buf[0].c[2].w2 = 3;
    buf[0].head = 0; buf[0].tail = 3; buf[0].committed = 3;
    absval[2] = 1; absval[4] = 2; absval[6] = 3;
#endif
  }
}
