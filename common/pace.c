/* Quota pacing: token bucket plus a rolling window of 100 ms slots. */
#include <string.h>

#include "common/pace.h"

void
pace_init(struct pace *p, double rate, int64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->rate = rate;
	p->burst = rate;
	p->tokens = rate;
	p->last_ms = now_ms;
	p->budget = (long)(rate * (PACE_WINDOW_MS / 1000));
	for (int i = 0; i < PACE_SLOTS; i++)
		p->slot_no[i] = -1;
}

static void
pace_refill(struct pace *p, int64_t now_ms)
{
	if (now_ms > p->last_ms) {
		p->tokens += p->rate * (double)(now_ms - p->last_ms) / 1000.0;
		if (p->tokens > p->burst)
			p->tokens = p->burst;
		p->last_ms = now_ms;
	}
}

/* Is slot number n still inside the window at now? */
static int
pace_live(int64_t n, int64_t now_ms)
{
	return n >= 0 && n > now_ms / PACE_SLOT_MS - PACE_SLOTS;
}

long
pace_window_used(const struct pace *p, int64_t now_ms)
{
	long sum = 0;

	for (int i = 0; i < PACE_SLOTS; i++)
		if (pace_live(p->slot_no[i], now_ms))
			sum += p->slot_units[i];
	return sum;
}

/* When enough old units leave the window for cost to fit. */
static int64_t
pace_window_wait(const struct pace *p, int cost, int64_t now_ms)
{
	long excess = pace_window_used(p, now_ms) + cost - p->budget;
	int64_t first = now_ms / PACE_SLOT_MS - PACE_SLOTS + 1;

	if (excess <= 0)
		return 0;
	if (first < 0)
		first = 0;	/* a clock that started less than a window ago */
	for (int64_t n = first; n <= now_ms / PACE_SLOT_MS; n++) {
		int i = (int)(n % PACE_SLOTS);

		if (p->slot_no[i] != n)
			continue;
		excess -= p->slot_units[i];
		if (excess <= 0)
			return (n + PACE_SLOTS) * PACE_SLOT_MS - now_ms;
	}
	return PACE_WINDOW_MS;	/* cost alone exceeds the budget */
}

int64_t
pace_wait(struct pace *p, int cost, int64_t now_ms)
{
	double need;
	int64_t bucket = 0, window;

	if (p->rate <= 0 || cost <= 0)
		return 0;
	pace_refill(p, now_ms);
	need = cost < p->burst ? cost : p->burst;
	if (p->tokens < need)
		bucket = (int64_t)((need - p->tokens) * 1000.0 / p->rate) + 1;
	window = cost > p->budget ? 0 : pace_window_wait(p, cost, now_ms);
	return bucket > window ? bucket : window;
}

void
pace_take(struct pace *p, int cost, int64_t now_ms)
{
	int64_t n = now_ms / PACE_SLOT_MS;
	int i = (int)(n % PACE_SLOTS);

	if (p->rate <= 0 || cost <= 0)
		return;
	pace_refill(p, now_ms);
	p->tokens -= cost;
	if (p->slot_no[i] != n) {
		p->slot_no[i] = n;
		p->slot_units[i] = 0;
	}
	p->slot_units[i] += cost;
}
