/* Pacing to a per-user quota: a token bucket for a smooth rate, and a
 * rolling-minute window so that no minute ever spends more than the
 * budget, whatever the bursts. */
#ifndef MV_COMMON_PACE_H
#define MV_COMMON_PACE_H

#include <stdint.h>

#define PACE_SLOT_MS	100
/* The share of the quota a run spends: pacing exactly at the quota leaves
 * no room for requests that reach the server closer together than they
 * left (a slow first request, network jitter), and a server with a
 * one-second bucket then answers 429 now and then. */
#define PACE_SHARE	0.9
#define PACE_WINDOW_MS	60000
/* Units stay counted one extra second: the server counts arrivals, we
 * count departures, and a slow request may arrive late. */
#define PACE_MARGIN_MS	1000
#define PACE_SLOTS	((PACE_WINDOW_MS + PACE_MARGIN_MS) / PACE_SLOT_MS)

struct pace {
	double	 rate;		/* units per second; 0: pacing off */
	double	 burst;		/* bucket size, units */
	double	 tokens;
	int64_t	 last_ms;
	long	 budget;	/* units per window */
	int64_t	 slot_no[PACE_SLOTS];
	long	 slot_units[PACE_SLOTS];
};

/* Starts pacing at rate units/s (0 turns it off) with a bucket of one
 * second's worth, full: a short burst is allowed, as by Gmail. */
void pace_init(struct pace *, double rate, int64_t now_ms);
/* Milliseconds to wait before cost units may be spent; 0: now. A cost
 * above the bucket size waits for a full bucket, then goes into debt. */
int64_t pace_wait(struct pace *, int cost, int64_t now_ms);
/* Spends cost units now (call when pace_wait() said 0). */
void pace_take(struct pace *, int cost, int64_t now_ms);
/* Units spent in the current window. */
long pace_window_used(const struct pace *, int64_t now_ms);

#endif
