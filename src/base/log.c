/*
 * log.c — JSON-lines logger (see log.h). Thread-safe: one fprintf per line.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/banned.h"

static enum log_level log_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *s)
{
	static const char *names[] = {"debug", "info", "warn", "error", "off"};
	for (int i = 0; i < 5; i++)
		if (s && strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

void log_init_from_env(void)
{
	int l = log_level_parse(getenv("CAREWIRE_LOG_LEVEL"));
	if (l >= 0)
		log_level = (enum log_level)l;
}

static void json_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
}

void log_write(enum log_level level, const char *mod, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (level < log_level || level >= LOG_OFF)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

	struct buf b;
	buf_init(&b, 8192);
	buf_printf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"mod\":\"", when,
		   ts.tv_nsec / 1000000, names[level]);
	json_escape(&b, mod ? mod : "");
	buf_puts(&b, "\",\"msg\":\"");
	json_escape(&b, msg);
	buf_puts(&b, "\"}\n");
	fputs(b.data, stderr);
	buf_release(&b);
}

char *log_mask_phone(const char *phone, char *out, size_t outsz)
{
	if (!phone || !*phone) {
		snprintf(out, outsz, "-");
		return out;
	}
	size_t n = strlen(phone);
	if (n <= 7) {
		snprintf(out, outsz, "***");
		return out;
	}
	size_t head = 5, tail = 2, i = 0, o = 0;
	for (i = 0; i < n && o + 1 < outsz; i++)
		out[o++] = (i < head || i >= n - tail) ? phone[i] : '*';
	out[o] = '\0';
	return out;
}
