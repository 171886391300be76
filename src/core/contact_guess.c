/*
 * contact_guess.c — script and country look-ups (see contact_guess.h).
 */
#include "core/contact_guess.h"

#include <string.h>

#include "base/banned.h"

const char *contact_guess_language(const char *s)
{
	int he = 0, ru = 0, en = 0;
	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0xD6 || *p == 0xD7) /* U+0580..U+05FF: Hebrew block */
			he++;
		else if (*p == 0xD0 || *p == 0xD1) /* U+0400..U+047F: Cyrillic */
			ru++;
		else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			en++;
	}
	if (he && he >= ru)
		return "he";
	if (ru)
		return "ru";
	if (en)
		return "en";
	return NULL;
}

struct zone_row {
	const char *prefix;
	const char *zone;
};

/* Longest prefix first where countries share a calling code (+7). */
static const struct zone_row zones[] = {
	{"+972", "Asia/Jerusalem"}, {"+970", "Asia/Hebron"},  {"+76", "Asia/Almaty"},
	{"+77", "Asia/Almaty"},     {"+7", "Europe/Moscow"},   {"+375", "Europe/Minsk"},
	{"+380", "Europe/Kyiv"},    {"+44", "Europe/London"},  {"+49", "Europe/Berlin"},
	{"+33", "Europe/Paris"},    {"+995", "Asia/Tbilisi"},  {"+374", "Asia/Yerevan"},
	{"+998", "Asia/Tashkent"},  {"+371", "Europe/Riga"},   {"+370", "Europe/Vilnius"},
	{"+372", "Europe/Tallinn"},
};

const char *contact_guess_zone(const char *e164)
{
	if (!e164)
		return NULL;
	for (unsigned i = 0; i < sizeof zones / sizeof zones[0]; i++)
		if (strncmp(e164, zones[i].prefix, strlen(zones[i].prefix)) == 0)
			return zones[i].zone;
	return NULL;
}
