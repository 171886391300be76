/*
 * fuzz_webhook.c — libFuzzer target for wa/webhook: any bytes as a webhook
 * POST body.
 *
 * Besides "never crash, never leak" (ASan/UBSan report those), it checks the
 * parser's promises and aborts when one breaks, so the fuzzer reports it:
 * only the documented error codes; the limits hold; every event carries what
 * the header says is never NULL, and every borrowed string is readable; every
 * reject names a reason and a position inside the body; parsing is
 * deterministic. replay.c links the same function into a plain program.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "wa/webhook.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the touched lengths go, so the reads cannot be optimised away. */
static volatile size_t sink;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_webhook: invariant broken: %s\n", what);
		abort();
	}
}

/* Touches every byte of a borrowed string so ASan sees a dangling one. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t touch_error(const struct webhook_error *e)
{
	return touch(e->title) + touch(e->message) + touch(e->details) + touch(e->href);
}

static size_t touch_event(const struct webhook_event *ev)
{
	size_t n = touch(ev->field) + touch(ev->waba_id) + touch(ev->phone_number_id) +
		   touch(ev->display_phone_number);
	check(ev->field && ev->waba_id && ev->item, "event header");
	check(ev->timestamp_ms >= 0, "timestamp_ms >= 0");
	check(strcmp(webhook_kind_name(ev->kind), "?") != 0, "kind has a name");
	switch (ev->kind) {
	case WH_MESSAGE: {
		const struct webhook_message *m = &ev->msg;
		check(m->wamid && *m->wamid, "message wamid");
		check(m->from || m->from_user_id, "message sender");
		check(strcmp(webhook_msg_type_name(m->type), "?") != 0, "msg type has a name");
		n += touch(m->from) + touch(m->from_user_id) + touch(m->parent_user_id) +
		     touch(m->profile_name) + touch(m->username) + touch(m->group_id) +
		     touch(m->type_str) + touch(m->text) + touch(m->interactive.reply_id) +
		     touch(m->interactive.reply_title) + touch(m->interactive.nfm_response_json) +
		     touch(m->button.payload) + touch(m->media.id) + touch(m->media.url) +
		     touch(m->location.name) + touch(m->reaction.emoji) + touch(m->context.id) +
		     touch(m->referral.source_url) + touch(m->system.wa_id) +
		     touch(m->order.catalog_id) + touch(m->unsupported_type) +
		     touch_error(&m->error);
		check(m->nerrors > 0 || !m->error.has_code, "message error without errors[]");
		break;
	}
	case WH_STATUS:
		check(ev->status.wamid && ev->status.status_str, "status wamid/status");
		check(strcmp(webhook_status_name(ev->status.status), "?") != 0, "status name");
		check(ev->status.billable >= -1 && ev->status.billable <= 1, "billable");
		n += touch(ev->status.recipient_id) + touch(ev->status.biz_opaque_callback_data) +
		     touch(ev->status.conversation_id) + touch(ev->status.pricing_category) +
		     touch_error(&ev->status.error);
		break;
	case WH_ERROR:
		n += touch_error(&ev->error);
		break;
	case WH_TEMPLATE_STATUS:
	case WH_TEMPLATE_CATEGORY:
	case WH_TEMPLATE_QUALITY:
		n += touch(ev->tmpl.message_template_id) + touch(ev->tmpl.name) +
		     touch(ev->tmpl.event) + touch(ev->tmpl.new_quality_score);
		break;
	case WH_PHONE_QUALITY:
		n += touch(ev->phone.event) + touch(ev->phone.current_limit);
		break;
	case WH_USER_PREFERENCE:
		check(ev->pref.wa_id || ev->pref.user_id, "preference user");
		n += touch(ev->pref.value) + touch(ev->pref.category);
		break;
	case WH_ACCOUNT_UPDATE:
		n += touch(ev->account.event) + touch(ev->account.restriction_type);
		break;
	case WH_GROUP_UPDATE:
		check(ev->group.group_id != NULL, "group id");
		n += touch(ev->group.type);
		break;
	case WH_OTHER:
		break;
	default:
		check(0, "kind in range");
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_batch *b = NULL;
	int rc = webhook_parse((const char *)data, size, &b);
	check(rc == 0 || rc == CW_EPARSE || rc == CW_ETOOBIG, "documented error code");
	check((rc == 0) == (b != NULL), "batch iff success");
	if (rc)
		return 0;
	check(b->root != NULL, "batch root");
	check(b->nevents + b->nrejected + b->nduplicates <= WEBHOOK_MAX_EVENTS, "item limit");
	size_t sum = 0;
	for (size_t i = 0; i < b->nevents; i++)
		sum += touch_event(&b->events[i]);
	for (size_t i = 0; i < b->nrejected; i++) {
		const struct webhook_reject *r = &b->rejected[i];
		check(r->reason && *r->reason, "reject reason");
		check(r->entry >= 0 && r->entry < WEBHOOK_MAX_ENTRIES, "reject entry index");
		check(r->change >= -1 && r->index >= -1, "reject indices");
		sum += touch(r->array);
	}

	/* The same body parses the same way. */
	struct webhook_batch *again = NULL;
	check(webhook_parse((const char *)data, size, &again) == 0, "deterministic rc");
	check(again->nevents == b->nevents && again->nrejected == b->nrejected &&
		      again->nduplicates == b->nduplicates,
	      "deterministic counts");
	webhook_batch_free(again);
	webhook_batch_free(b);
	sink += sum;
	return 0;
}
