/*
 * log.h — structured logging as JSON lines on stderr.
 *
 * Health data rule: never pass a phone number or a message body to these at
 * info level or above. Use log_mask_phone() for an identifier a person can
 * still correlate ("+97252*****67").
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

/* Sets the lowest level written (default LOG_INFO; CAREWIRE_LOG_LEVEL=debug|info|warn|error|off
 * is read by log_init_from_env()). */
void log_set_level(enum log_level level);
void log_init_from_env(void);
enum log_level log_get_level(void);
/* Parses "debug", "info", ...; returns -1 when unknown. */
int log_level_parse(const char *s);

/* Writes one JSON line {"ts":..,"level":..,"mod":..,"msg":..}. */
void log_write(enum log_level level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_write(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_write(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)

/* Writes a masked form of phone into out (keeps '+', the first 5 and last 2
 * characters). out must hold at least 32 bytes. Returns out. */
char *log_mask_phone(const char *phone, char *out, size_t outsz);

#endif
