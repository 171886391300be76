/*
 * window.c — reading the 24-hour windows (see window.h).
 */
#include "core/window.h"

#include "base/err.h"
#include "base/time.h"
#include "base/banned.h"

struct list_ctx {
	json_t *arr;
	const char *contact_id;
	int64_t now;
};

static json_t *iso(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return json_string(time_format_iso(ms, b));
}

static int row_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *c = ud;
	int64_t last = store_row_int(row, 1), exp = store_row_int(row, 2);
	int open = c->now < exp;
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:b, s:I}", "number_id",
			      store_row_text(row, 0), "contact_id", c->contact_id,
			      "last_inbound_at", iso(last), "expires_at", iso(exp), "open", open,
			      "remaining_seconds", (json_int_t)(open ? (exp - c->now) / 1000 : 0));
	if (o)
		json_array_append_new(c->arr, o);
	return 0;
}

int window_list(struct store *st, const char *org_id, const char *contact_id, int64_t now_ms,
		json_t **out)
{
	struct list_ctx c = {json_array(), contact_id, now_ms};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	int rc = store_query(st, "window.list_by_contact", a, 2, row_cb, &c);
	if (rc < 0) {
		json_decref(c.arr);
		*out = NULL;
		return rc;
	}
	*out = c.arr;
	return 0;
}
