/*
 * time.c — placeholder clock until the ICU-backed implementation lands.
 */
#include "base/time.h"

#include <stdatomic.h>
#include <time.h>

#include "base/banned.h"

static _Atomic int64_t pinned = -1;

int64_t time_now_ms(void)
{
	int64_t p = atomic_load(&pinned);
	if (p >= 0)
		return p;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_clock_set(int64_t ms)
{
	atomic_store(&pinned, ms);
}
