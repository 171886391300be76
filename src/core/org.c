/*
 * org.c — organisations and phone numbers (see org.h).
 */
#include "core/org.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "base/banned.h"

static const char *const org_kinds[] = {"hospital", "clinic", "diagnostic",
					"pharmacy", "pharma", "events"};

int org_kind_valid(const char *kind)
{
	for (unsigned i = 0; kind && i < sizeof org_kinds / sizeof org_kinds[0]; i++)
		if (strcmp(kind, org_kinds[i]) == 0)
			return 1;
	return 0;
}

static int region_valid(const char *r)
{
	return r && strlen(r) == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z';
}

int org_create(struct store *st, const char *name, const char *kind, const char *region,
	       const char *language, const char *zone, char id[ID_SIZE])
{
	if (!name || !*name || strlen(name) > 200 || !org_kind_valid(kind) || !region_valid(region))
		return CW_EINVAL;
	if (zone && !time_zone_valid(zone))
		return CW_EINVAL;
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),	 SV_TEXT(name),	       SV_TEXT(kind),
				SV_TEXT(region), SV_TEXT(language),    SV_TEXT(zone),
				SV_NULL,	 SV_INT(time_now_ms())};
	return store_exec(st, "org.insert", a, 8, NULL);
}

static int org_cb(void *ud, const struct store_row *row)
{
	struct org_info *o = ud;
	const char *v;
	snprintf(o->id, sizeof o->id, "%s", store_row_text(row, 0));
	snprintf(o->name, sizeof o->name, "%s", store_row_text(row, 1));
	snprintf(o->kind, sizeof o->kind, "%s", store_row_text(row, 2));
	snprintf(o->region, sizeof o->region, "%s", store_row_text(row, 3));
	v = store_row_text(row, 4);
	snprintf(o->language, sizeof o->language, "%s", v ? v : "en");
	v = store_row_text(row, 5);
	snprintf(o->zone, sizeof o->zone, "%s", v ? v : "UTC");
	return 1;
}

int org_get(struct store *st, const char *id, struct org_info *out)
{
	memset(out, 0, sizeof *out);
	struct store_val a[] = {SV_TEXT(id)};
	int rc = store_query(st, "org.get", a, 1, org_cb, out);
	if (rc < 0)
		return rc;
	return out->id[0] ? 0 : CW_ENOTFOUND;
}

static int settings_cb(void *ud, const struct store_row *row)
{
	struct org_settings *o = ud;
	org_cb(&o->info, row);
	const char *v = store_row_text(row, 6);
	free(o->settings);
	o->settings = xstrdup(v ? v : "{}");
	return 1;
}

int org_settings_get(struct store *st, struct store_tx *tx, const char *id,
		     struct org_settings *out)
{
	memset(out, 0, sizeof *out);
	struct store_val a[] = {SV_TEXT(id)};
	int rc = tx ? store_tx_query(tx, "org.get", a, 1, settings_cb, out)
		    : store_query(st, "org.get", a, 1, settings_cb, out);
	if (rc < 0)
		return rc;
	return out->settings ? 0 : CW_ENOTFOUND;
}

void org_settings_release(struct org_settings *o)
{
	free(o->settings);
	o->settings = NULL;
}

int number_add(struct store *st, const uint8_t key[SEC_KEY_BYTES], const char *org_id,
	       const char *phone_number_id, const char *waba_id, const char *display,
	       const char *token, int rate_mps, char id[ID_SIZE])
{
	struct org_info org;
	if (!phone_number_id || !*phone_number_id || strlen(phone_number_id) > 63 || !waba_id ||
	    !*waba_id || strlen(waba_id) > 63 || !display || strlen(display) > 31)
		return CW_EINVAL;
	if (rate_mps < 0 || rate_mps > 1000)
		return CW_EINVAL;
	int rc = org_get(st, org_id, &org);
	if (rc)
		return rc;
	struct number_info existing;
	if (number_get(st, NULL, phone_number_id, 0, &existing) == 0) {
		number_info_release(&existing);
		return CW_ECONFLICT;
	}
	char *sealed = token ? sec_seal(key, token, strlen(token)) : NULL;
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(org_id),
				SV_TEXT(phone_number_id),
				SV_TEXT(waba_id),
				SV_TEXT(display),
				SV_TEXT(sealed),
				rate_mps ? SV_INT(rate_mps) : SV_NULL,
				SV_NULL,
				SV_INT(time_now_ms())};
	rc = store_exec(st, "number.insert", a, 9, NULL);
	free(sealed);
	return rc;
}

struct number_ctx {
	struct number_info *n;
	char *sealed;
};

static int number_cb(void *ud, const struct store_row *row)
{
	struct number_ctx *c = ud;
	struct number_info *n = c->n;
	snprintf(n->id, sizeof n->id, "%s", store_row_text(row, 0));
	snprintf(n->org_id, sizeof n->org_id, "%s", store_row_text(row, 1));
	snprintf(n->phone_number_id, sizeof n->phone_number_id, "%s", store_row_text(row, 2));
	snprintf(n->waba_id, sizeof n->waba_id, "%s", store_row_text(row, 3));
	snprintf(n->display, sizeof n->display, "%s", store_row_text(row, 4));
	c->sealed = xstrdup(store_row_text(row, 5));
	n->rate_mps = (int)store_row_int(row, 6);
	n->shared_with_app = (int)store_row_int(row, 7);
	snprintf(n->status, sizeof n->status, "%s", store_row_text(row, 8));
	return 1;
}

int number_get(struct store *st, const uint8_t *key, const char *ident, int by_id,
	       struct number_info *out)
{
	memset(out, 0, sizeof *out);
	struct number_ctx c = {.n = out};
	struct store_val a[] = {SV_TEXT(ident)};
	int rc = store_query(st, by_id ? "number.get" : "number.get_by_pnid", a, 1, number_cb, &c);
	if (rc < 0) {
		free(c.sealed);
		return rc;
	}
	if (!out->id[0]) {
		free(c.sealed);
		return CW_ENOTFOUND;
	}
	if (key && c.sealed) {
		out->token = sec_open(key, c.sealed, NULL);
		if (!out->token)
			log_error("org", "the access token of a number cannot be opened with this "
					 "master key");
	}
	free(c.sealed);
	return 0;
}

void number_info_release(struct number_info *n)
{
	if (!n)
		return;
	if (n->token) {
		memset(n->token, 0, strlen(n->token));
		free(n->token);
		n->token = NULL;
	}
}
