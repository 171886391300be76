/*
 * bench_policy.c — policy decisions per second on one core.
 *
 *	bench_policy [-s seconds_per_run] [-o results_file]
 *
 * Builds 4096 inputs shaped like a day of a clinic, a pharmacy and a pharma
 * company (purposes, templates and replies, consents, opt-outs, zones in
 * Israel, Russia and elsewhere, times over a week, texts in Hebrew, Russian
 * and English with phone numbers, dates and amounts, now and then an ID
 * number or a drug name) and calls policy_decide() on them round-robin on
 * one thread. Then the same with quiet hours skipped (every message
 * time-critical) to show what the zone conversion costs, time_to_local()
 * alone, and the two text scanners alone. Prints one line per run and
 * appends them to -o when given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/text.h"
#include "base/time.h"
#include "core/formulary.h"
#include "core/natid.h"
#include "core/policy.h"
#include "base/banned.h"

#define N_INPUTS 4096
#define DAY_MS	 86400000LL

struct item {
	struct policy_contact c;
	struct policy_message m;
	struct policy_counters k;
	const struct policy_org *o;
	int64_t now;
};

static const char *const texts[] = {
    "Shalom! A reminder: your appointment with Dr. Levi is on Sunday 14/06 at 10:30, "
    "Herzl 12, Tel Aviv, 3rd floor. Nothing to eat 3 hours before. To reschedule call "
    "03-9337423.",
    "שלום, תזכורת: התור שלך אצל ד\"ר כהן ביום ראשון 14.06 בשעה 10:30, רחוב הרצל 12, "
    "קומה 3. נא לא לאכול 3 שעות לפני הבדיקה. לשינוי התור: 03-9337423",
    "Здравствуйте! Напоминаем о приёме у врача Ивановой в воскресенье 14.06 в 10:30, "
    "ул. Герцль 12, 3 этаж. Не ешьте за 3 часа до анализа. Перенести: +972-3-933-7423",
    "Your order 48213 is ready for pickup at Herzl 12 pharmacy, open Sun-Thu 8:00-20:00. "
    "Amount due: 42.90 NIS.",
    "ההזמנה שלך מספר 48213 מוכנה לאיסוף בבית המרקחת, סכום לתשלום 42.90 ש\"ח.",
    "Ваш заказ 48213 готов к выдаче. Сумма к оплате 1 250,00 руб. Аптека работает до 20:00.",
    "Spring offer: sunscreen SPF50 and vitamin D, two for one until 30/04. Reply STOP to opt "
    "out.",
    "מבצע אביב: קרם הגנה ווויטמין D, אחד פלוס אחד עד 30.04. להסרה השיבו הסר",
    "Весенняя акция: солнцезащитный крем и витамин D, два по цене одного до 30.04.",
    "How was your visit today? Tap a number from 1 to 5.",
    "Your lipid panel results are ready: LDL 112 mg/dL, HDL 54 mg/dL. Dr. Levi will call.",
    "Thanks for writing! We answer Sun-Thu 8:00-18:00; you'll hear from us by 9:00 "
    "tomorrow.",
    /* rare rows: an ID number, a drug name */
    "Confirmed for patient 123456782, see you on Sunday.",
    "New arrival: Ozempic pens in stock, order now!",
    "Новинка: Оземпик в наличии, закажите сейчас!",
};

static const char *const zones[] = {
    "Asia/Jerusalem",	"Asia/Jerusalem", "Asia/Jerusalem",	"Asia/Jerusalem",
    "Asia/Jerusalem",	"Asia/Jerusalem", "Europe/Moscow",	"Europe/Moscow",
    "America/New_York", "Europe/Berlin",  "Asia/Yekaterinburg", "",
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct policy_org orgs[3];

static void build(struct item *items, int all_critical)
{
	int64_t base = 1781049600000LL; /* 2026-06-10T00:00:00Z, a Wednesday */
	for (int i = 0; i < N_INPUTS; i++) {
		struct item *it = &items[i];
		memset(it, 0, sizeof *it);
		int org = rnd(10) < 7 ? 0 : (rnd(2) ? 1 : 2); /* clinic, pharmacy, pharma */
		it->o = &orgs[org];
		/* Most sends happen in the day; a tenth land at any hour. */
		int64_t day = rnd(7);
		int64_t hour = rnd(10) ? 5 + rnd(11) : rnd(24);
		it->now = base + day * DAY_MS + hour * 3600000LL + rnd(3600) * 1000LL;

		struct policy_contact *c = &it->c;
		c->erased = rnd(1000) < 2;
		c->phone_valid = rnd(1000) >= 5;
		c->zone = zones[rnd(sizeof zones / sizeof zones[0])];
		c->opted_out = rnd(100) < 3;
		c->marketing_stopped = rnd(100) < 2;
		for (int p = 0; p < POLICY_PURPOSE_COUNT; p++) {
			uint32_t r = rnd(100);
			c->consents[p].status = r < 80	 ? POLICY_CONSENT_GRANTED
						: r < 90 ? POLICY_CONSENT_NONE
						: r < 95 ? POLICY_CONSENT_REFUSED
							 : POLICY_CONSENT_WITHDRAWN;
			c->consents[p].at = base - rnd(300) * DAY_MS;
			c->consents[p].source = rnd(2) ? "whatsapp" : "paper";
		}

		struct policy_message *m = &it->m;
		uint32_t r = rnd(100);
		m->purpose = r < 45   ? POLICY_REMINDERS
			     : r < 65 ? POLICY_SERVICE
			     : r < 80 ? POLICY_MARKETING
			     : r < 90 ? POLICY_RESULTS
				      : POLICY_SURVEYS;
		it->k.window_expires_at = rnd(100) < 30 ? it->now + rnd(86400) * 1000LL : 0;
		if (it->k.window_expires_at && rnd(100) < 70) {
			m->kind = POLICY_FREEFORM;
			m->is_reply = m->purpose == POLICY_SERVICE || rnd(2);
		} else {
			m->kind = POLICY_TEMPLATE;
			m->tpl.name = "appt_reminder";
			m->tpl.language = "he";
			m->tpl.status = rnd(100) < 97 ? POLICY_TPL_APPROVED : POLICY_TPL_PAUSED;
			m->tpl.category = m->purpose == POLICY_MARKETING ? POLICY_CAT_MARKETING
									 : POLICY_CAT_UTILITY;
			if (rnd(100) < 2)
				m->tpl.category = POLICY_CAT_MARKETING;
		}
		size_t nt = sizeof texts / sizeof texts[0];
		m->text = texts[rnd(100) < 97 ? rnd(nt - 3) : nt - 3 + rnd(3)];
		if (m->purpose == POLICY_RESULTS) {
			static const char *const cats[] = {"lipids",   "cbc",	  "glucose",
							   "Oncology", "thyroid", "hiv"};
			m->result_category = cats[rnd(6)];
		}
		m->campaign_halted = m->purpose == POLICY_MARKETING && rnd(100) < 3;
		m->time_critical = all_critical || (m->purpose == POLICY_REMINDERS && rnd(100) < 5);

		it->k.marketing_sent_in_period = rnd(3);
		it->k.surveys_sent_in_period = rnd(4) == 0;
		it->k.tier_recipients_24h = rnd(1100);
		it->k.contact_already_counted_in_24h = rnd(3) == 0;
		it->k.tier_oldest_expiry = it->now + rnd(86400) * 1000LL;
	}
}

struct tally {
	long n[3];
	long reasons[POLICY_R_COUNT];
};

static double run_decide(const struct item *items, double seconds, struct tally *t)
{
	struct policy_decision d;
	long calls = 0;
	memset(t, 0, sizeof *t);
	double start = now_s(), end = start + seconds, now;
	do {
		for (int i = 0; i < N_INPUTS; i++) {
			const struct item *it = &items[i];
			struct policy_input in = {&it->c, &it->m, it->o, &it->k};
			policy_decide(&in, it->now, &d);
			t->n[d.outcome]++;
			t->reasons[d.reason]++;
		}
		calls += N_INPUTS;
		now = now_s();
	} while (now < end);
	return calls / (now - start);
}

static double run_time_to_local(const struct item *items, double seconds)
{
	struct time_local l;
	long calls = 0, sink = 0;
	double start = now_s(), end = start + seconds, now;
	do {
		for (int i = 0; i < N_INPUTS; i++) {
			const char *z = items[i].c.zone && *items[i].c.zone ? items[i].c.zone
									    : "Asia/Jerusalem";
			if (time_to_local(items[i].now, z, &l) == 0)
				sink += l.hour;
		}
		calls += N_INPUTS;
		now = now_s();
	} while (now < end);
	(void)sink;
	return calls / (now - start);
}

static double run_natid(double seconds)
{
	long calls = 0, found = 0;
	size_t nt = sizeof texts / sizeof texts[0];
	double start = now_s(), end = start + seconds, now;
	do {
		for (size_t i = 0; i < nt; i++)
			found += natid_find(texts[i], NULL);
		calls += (long)nt;
		now = now_s();
	} while (now < end);
	(void)found;
	return calls / (now - start);
}

static double run_formulary(const struct formulary *f, double seconds)
{
	long calls = 0, found = 0;
	size_t nt = sizeof texts / sizeof texts[0];
	double start = now_s(), end = start + seconds, now;
	do {
		for (size_t i = 0; i < nt; i++)
			found += formulary_match(f, texts[i], NULL, 0) == 1;
		calls += (long)nt;
		now = now_s();
	} while (now < end);
	(void)found;
	return calls / (now - start);
}

static void emit(FILE *out, const char *line)
{
	fputs(line, stdout);
	if (out)
		fputs(line, out);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	const char *outpath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "s:o:")) != -1) {
		if (opt == 's')
			seconds = strtod(optarg, NULL);
		else if (opt == 'o')
			outpath = optarg;
		else {
			fprintf(stderr, "usage: bench_policy [-s seconds] [-o results_file]\n");
			return 2;
		}
	}
	if (seconds <= 0)
		seconds = 3;
	FILE *out = outpath ? fopen(outpath, "a") : NULL;
	if (outpath && !out) {
		perror(outpath);
		return 1;
	}

	struct formulary *f = formulary_new_starter();
	policy_org_init(&orgs[0], POLICY_ORG_CLINIC, "Asia/Jerusalem");
	policy_org_init(&orgs[1], POLICY_ORG_PHARMACY, "Asia/Jerusalem");
	policy_org_init(&orgs[2], POLICY_ORG_PHARMA, "Europe/Moscow");
	for (int i = 0; i < 3; i++)
		orgs[i].formulary = f;

	struct item *items = calloc(N_INPUTS, sizeof *items);
	if (!items)
		return 1;
	char line[1024];
	struct tally t;

	build(items, 0);
	run_decide(items, 0.2, &t); /* warm the per-thread ICU caches */
	double rate = run_decide(items, seconds, &t);
	long total = t.n[0] + t.n[1] + t.n[2];
	snprintf(line, sizeof line,
		 "policy_decide, realistic mix, 1 thread: %.0f decisions/s (%.2f us each); "
		 "allow %.1f%%, deny %.1f%%, defer %.1f%% (quiet_hours %.1f%%, "
		 "tier_budget %.1f%%)\n",
		 rate, 1e6 / rate, 100.0 * t.n[POLICY_ALLOW] / total,
		 100.0 * t.n[POLICY_DENY] / total, 100.0 * t.n[POLICY_DEFER] / total,
		 100.0 * t.reasons[POLICY_R_QUIET_HOURS] / total,
		 100.0 * t.reasons[POLICY_R_TIER_BUDGET] / total);
	emit(out, line);
	snprintf(line, sizeof line, "  reasons:");
	for (int r = 0; r < POLICY_R_COUNT; r++) {
		size_t n = strlen(line);
		if (t.reasons[r])
			snprintf(line + n, sizeof line - n, " %s %.1f%%",
				 policy_reason_code((enum policy_reason)r),
				 100.0 * t.reasons[r] / total);
	}
	size_t n = strlen(line);
	snprintf(line + n, sizeof line - n, "\n");
	emit(out, line);

	build(items, 1);
	rate = run_decide(items, seconds, &t);
	snprintf(line, sizeof line,
		 "policy_decide, same mix with quiet hours skipped (all time-critical), 1 thread: "
		 "%.0f decisions/s (%.2f us each)\n",
		 rate, 1e6 / rate);
	emit(out, line);

	build(items, 0);
	rate = run_time_to_local(items, seconds);
	snprintf(line, sizeof line,
		 "time_to_local alone (ICU, calendar cached per thread and zone): %.0f calls/s "
		 "(%.2f us each)\n",
		 rate, 1e6 / rate);
	emit(out, line);

	rate = run_natid(seconds);
	snprintf(line, sizeof line,
		 "natid_find alone, texts of 50-250 bytes: %.0f calls/s (%.2f us each)\n", rate,
		 1e6 / rate);
	emit(out, line);

	rate = run_formulary(f, seconds);
	snprintf(line, sizeof line,
		 "formulary_match alone (%zu entries; fold + word split + lookup): %.0f calls/s "
		 "(%.2f us each)\n",
		 formulary_count(f), rate, 1e6 / rate);
	emit(out, line);

	free(items);
	formulary_free(f);
	time_thread_release();
	text_thread_release();
	if (out)
		fclose(out);
	return 0;
}
