/*
 * formulary.c — prescription-drug names and whole-word matching (see
 * formulary.h).
 *
 * Each entry is stored folded (text_casefold) and split into words
 * (text_words); a Cyrillic word that ends in а or я is stored without it,
 * as a stem. Entries are found by their first word through an open-
 * addressing hash table whose slots point to a chain of the entries that
 * share that first word. A message is folded and split the same way; for
 * each of its words the few forms it could be the inflected or prefixed
 * form of (its "candidates": itself, itself without a Russian case ending,
 * without Hebrew one-letter prefixes, without an English "'s") are looked
 * up, and an entry matches when its every word is among the candidates of
 * consecutive message words.
 */
#include "core/formulary.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/text.h"
#include "base/banned.h"

/*
 * The starter list. Prescription-only in Israel and Russia (and most
 * places) at the time of writing; grouped by class, each by generic and
 * well-known brand name in Latin, Hebrew and Cyrillic script. A starting
 * point for a compliance check, not medical or legal advice: organisations
 * extend it with formulary_add(). Words that are also ordinary words in one
 * of the languages (Lyrica is "lyric poetry" in Hebrew and Russian) are left
 * in the script where they are not.
 */
/* clang-format off */
static const char *const starter[] = {
	/* antibiotics */
	"amoxicillin", "אמוקסיצילין", "амоксициллин",
	"augmentin", "אוגמנטין", "аугментин",
	"azithromycin", "אזיתרומיצין", "азитромицин",
	"ciprofloxacin", "ציפרופלוקסצין", "ципрофлоксацин",
	"doxycycline", "דוקסיציקלין", "доксициклин",
	/* opioids */
	"oxycodone", "אוקסיקודון", "оксикодон",
	"oxycontin", "אוקסיקונטין", "оксиконтин",
	"morphine", "מורפין", "морфин",
	"fentanyl", "פנטניל", "фентанил",
	"tramadol", "טרמדול", "трамадол",
	"codeine", "קודאין", "кодеин",
	"methadone", "מתדון", "метадон",
	/* benzodiazepines and hypnotics */
	"diazepam", "valium", "דיאזפאם", "ואליום", "диазепам",
	"alprazolam", "xanax", "אלפרזולם", "קסנקס", "алпразолам", "ксанакс",
	"clonazepam", "clonex", "קלונזפאם", "קלונקס", "клоназепам",
	"lorazepam", "לוראזפאם", "лоразепам",
	"zolpidem", "זולפידם", "золпидем",
	/* GLP-1 and GIP agonists */
	"semaglutide", "סמגלוטיד", "семаглутид",
	"ozempic", "אוזמפיק", "оземпик",
	"wegovy", "וגובי", "вегови",
	"rybelsus", "ריבלסוס", "ребелсас",
	"liraglutide", "ליראגלוטיד", "лираглутид",
	"saxenda", "סקסנדה", "саксенда",
	"tirzepatide", "טירזפטיד", "тирзепатид",
	"mounjaro", "מונג'רו", "מונג׳רו", "мунджаро",
	/* diabetes */
	"metformin", "מטפורמין", "метформин",
	"insulin glargine", "אינסולין גלרגין", "инсулин гларгин",
	"lantus", "לנטוס", "лантус",
	/* statins */
	"atorvastatin", "lipitor", "אטורבסטטין", "ליפיטור", "аторвастатин",
	"rosuvastatin", "crestor", "רוזובסטטין", "קרסטור", "розувастатин",
	"simvastatin", "סימבסטטין", "симвастатин",
	/* anticoagulants */
	"warfarin", "coumadin", "וורפרין", "קומדין", "варфарин",
	"apixaban", "eliquis", "אפיקסבן", "אליקוויס", "апиксабан", "эликвис",
	"rivaroxaban", "xarelto", "ריברוקסבן", "קסרלטו", "ривароксабан", "ксарелто",
	/* PDE5 inhibitors */
	"sildenafil", "viagra", "סילדנפיל", "ויאגרה", "силденафил", "виагра",
	"tadalafil", "cialis", "טדלפיל", "סיאליס", "тадалафил", "сиалис",
	/* antidepressants and antipsychotics */
	"fluoxetine", "prozac", "פלואוקסטין", "פרוזק", "флуоксетин", "прозак",
	"sertraline", "סרטרלין", "сертралин",
	"escitalopram", "cipralex", "אסציטלופרם", "ציפרלקס", "эсциталопрам", "ципралекс",
	"quetiapine", "seroquel", "קווטיאפין", "סרוקוול", "кветиапин", "сероквель",
	"olanzapine", "אולנזפין", "оланзапин",
	/* stimulants */
	"methylphenidate", "ritalin", "מתילפנידאט", "ריטלין", "метилфенидат", "риталин",
	/* dermatology, hormones, immunology, neurology */
	"isotretinoin", "roaccutane", "איזוטרטינואין", "רואקוטן", "изотретиноин", "роаккутан",
	"prednisone", "prednisolone", "פרדניזון", "преднизолон",
	"levothyroxine", "eltroxin", "לבותירוקסין", "אלטרוקסין", "левотироксин",
	"methotrexate", "מתוטרקסט", "метотрексат",
	"adalimumab", "humira", "אדלימומאב", "הומירה", "адалимумаб", "хумира",
	"gabapentin", "גבפנטין", "габапентин",
	"pregabalin", "lyrica", "פרגבלין", "прегабалин",
	"finasteride", "פינסטריד", "финастерид",
};
/* clang-format on */

/* Russian noun case endings (folded); every one that fits a word gives a
 * candidate stem. */
/* clang-format off */
static const char *const ru_endings[] = {
	"ами", "ями", "ой", "ою", "ей", "ею", "ом", "ем", "ов", "ев", "ам", "ям", "ах", "ях",
	"а", "я", "у", "ю", "е", "ы", "и",
};
/* clang-format on */

#define MIN_STEM_BYTES 6 /* three Cyrillic letters */
#define MAX_CANDIDATES (1 + sizeof ru_endings / sizeof ru_endings[0] + TEXT_HE_PREFIX_MAX + 1)

struct entry {
	char *name; /* as added */
	char *keys; /* folded words, each NUL-terminated, one after another */
	uint16_t off[FORMULARY_MAX_WORDS], len[FORMULARY_MAX_WORDS];
	uint8_t nwords;
	uint32_t hash; /* of the first key */
	int32_t next;  /* next entry with the same first key, -1 at the end */
};

struct formulary {
	struct entry *e;
	size_t n, cap;
	int32_t *slot; /* hash table: index of the first entry of a chain, -1 empty */
	size_t nslots; /* a power of two, at least twice n */
};

struct slice {
	const char *p;
	size_t n;
};

static uint32_t hash_bytes(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

static int is_cyrillic_lead(unsigned char c)
{
	return c == 0xD0 || c == 0xD1 || c == 0xD2 || c == 0xD3;
}

static int is_hebrew_letter(const char *p, size_t n)
{
	return n >= 2 && (unsigned char)p[0] == 0xD7 && (unsigned char)p[1] >= 0x90 &&
	       (unsigned char)p[1] <= 0xAA;
}

static int ends_with(const char *p, size_t n, const char *suffix, size_t sn)
{
	return n >= sn && memcmp(p + n - sn, suffix, sn) == 0;
}

/* The forms a folded word w could be the inflected or prefixed form of. */
static size_t candidates(const char *w, size_t n, int allow_prefix, struct slice *out)
{
	size_t k = 0;
	out[k++] = (struct slice){w, n};
	if (n == 0)
		return k;
	unsigned char c0 = (unsigned char)w[0];
	if (is_cyrillic_lead(c0)) {
		for (size_t i = 0; i < sizeof ru_endings / sizeof ru_endings[0]; i++) {
			size_t en = strlen(ru_endings[i]);
			if (n >= en + MIN_STEM_BYTES && ends_with(w, n, ru_endings[i], en))
				out[k++] = (struct slice){w, n - en};
		}
	} else if (allow_prefix && is_hebrew_letter(w, n)) {
		/* one-letter prefixes (base/text.h): "ובאוזמפיק" */
		size_t stems[TEXT_HE_PREFIX_MAX];
		size_t ns = text_he_prefixes(w, n, stems);
		for (size_t i = 0; i < ns; i++)
			out[k++] = (struct slice){w + stems[i], n - stems[i]};
	} else if (c0 < 0x80) {
		/* "ozempic's": ICU keeps the possessive inside the word. */
		if (ends_with(w, n, "'s", 2) && n > 2)
			out[k++] = (struct slice){w, n - 2};
		else if (ends_with(w, n, "\xE2\x80\x99s", 4) && n > 4)
			out[k++] = (struct slice){w, n - 4};
	}
	return k;
}

/* An entry's word as stored: a Cyrillic word loses a final а or я. */
static size_t key_len(const char *w, size_t n)
{
	if (n >= 2 + MIN_STEM_BYTES && is_cyrillic_lead((unsigned char)w[0]) &&
	    (ends_with(w, n, "а", 2) || ends_with(w, n, "я", 2)))
		return n - 2;
	return n;
}

/* ---- lifecycle ---- */

struct formulary *formulary_new_empty(void)
{
	struct formulary *f = xcalloc(1, sizeof *f);
	f->nslots = 64;
	f->slot = xmalloc(f->nslots * sizeof *f->slot);
	for (size_t i = 0; i < f->nslots; i++)
		f->slot[i] = -1;
	return f;
}

struct formulary *formulary_new_starter(void)
{
	struct formulary *f = formulary_new_empty();
	for (size_t i = 0; i < sizeof starter / sizeof starter[0]; i++) {
		int rc = formulary_add(f, starter[i]);
		(void)rc;
		/* The starter list is ours: every row must be accepted. */
		if (rc != 0)
			abort();
	}
	return f;
}

void formulary_free(struct formulary *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].name);
		free(f->e[i].keys);
	}
	free(f->e);
	free(f->slot);
	free(f);
}

size_t formulary_count(const struct formulary *f)
{
	return f ? f->n : 0;
}

/* ---- the hash table ---- */

/* The slot for key (empty, or holding the chain of entries with that first
 * key). */
static size_t find_slot(const struct formulary *f, const char *key, size_t n, uint32_t h)
{
	size_t mask = f->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		int32_t x = f->slot[i];
		if (x < 0)
			return i;
		const struct entry *e = &f->e[x];
		if (e->hash == h && e->len[0] == n && memcmp(e->keys, key, n) == 0)
			return i;
	}
}

static void rehash(struct formulary *f)
{
	size_t nslots = f->nslots * 2;
	int32_t *old = f->slot;
	size_t oldn = f->nslots;
	f->slot = xmalloc(nslots * sizeof *f->slot);
	f->nslots = nslots;
	for (size_t i = 0; i < nslots; i++)
		f->slot[i] = -1;
	for (size_t i = 0; i < oldn; i++) {
		if (old[i] < 0)
			continue;
		const struct entry *e = &f->e[old[i]];
		f->slot[find_slot(f, e->keys, e->len[0], e->hash)] = old[i];
	}
	free(old);
}

/* ---- adding ---- */

struct split {
	struct slice w[FORMULARY_MAX_WORDS + 1];
	int n;
};

static void collect_word(void *ud, const char *word, size_t len)
{
	struct split *s = ud;
	if (s->n <= FORMULARY_MAX_WORDS)
		s->w[s->n] = (struct slice){word, len};
	s->n++;
}

static int same_keys(const struct entry *e, const struct entry *x)
{
	if (e->nwords != x->nwords)
		return 0;
	for (int i = 0; i < e->nwords; i++)
		if (e->len[i] != x->len[i] ||
		    memcmp(e->keys + e->off[i], x->keys + x->off[i], e->len[i]) != 0)
			return 0;
	return 1;
}

int formulary_add(struct formulary *f, const char *name)
{
	char *folded = NULL;
	struct entry x = {0};
	struct split sp = {0};
	int rc = CW_EINVAL;

	if (!f || !name || strnlen(name, FORMULARY_MAX_ENTRY_LEN + 1) > FORMULARY_MAX_ENTRY_LEN)
		return CW_EINVAL;
	folded = text_casefold(name);
	if (!folded)
		goto fail;
	if (text_words(folded, collect_word, &sp) < 0 || sp.n == 0 || sp.n > FORMULARY_MAX_WORDS)
		goto fail;

	size_t total = 0;
	for (int i = 0; i < sp.n; i++)
		total += sp.w[i].n + 1;
	x.keys = xmalloc(total);
	size_t at = 0;
	for (int i = 0; i < sp.n; i++) {
		size_t kn = key_len(sp.w[i].p, sp.w[i].n);
		memcpy(x.keys + at, sp.w[i].p, kn);
		x.keys[at + kn] = '\0';
		x.off[i] = (uint16_t)at;
		x.len[i] = (uint16_t)kn;
		at += kn + 1;
	}
	x.nwords = (uint8_t)sp.n;
	x.hash = hash_bytes(x.keys, x.len[0]);

	size_t s = find_slot(f, x.keys, x.len[0], x.hash);
	for (int32_t i = f->slot[s]; i >= 0; i = f->e[i].next) {
		if (same_keys(&f->e[i], &x)) {
			rc = 0; /* already there */
			goto fail;
		}
	}
	if (f->n >= FORMULARY_MAX_ENTRIES) {
		rc = CW_ETOOBIG;
		goto fail;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->e = xrealloc(f->e, f->cap * sizeof *f->e);
	}
	x.name = xstrdup(name);
	x.next = f->slot[s];
	f->e[f->n] = x;
	f->slot[s] = (int32_t)f->n;
	f->n++;
	if (f->n * 2 > f->nslots)
		rehash(f);
	free(folded);
	return 0;
fail:
	free(x.keys);
	free(folded);
	return rc;
}

/* ---- matching ---- */

struct words {
	struct slice *w;
	size_t n, cap;
	struct slice inline_w[128];
};

static void push_word(void *ud, const char *word, size_t len)
{
	struct words *ws = ud;
	if (ws->n == ws->cap) {
		size_t cap = ws->cap * 2;
		if (ws->w == ws->inline_w) {
			ws->w = xmalloc(cap * sizeof *ws->w);
			memcpy(ws->w, ws->inline_w, ws->n * sizeof *ws->w);
		} else {
			ws->w = xrealloc(ws->w, cap * sizeof *ws->w);
		}
		ws->cap = cap;
	}
	ws->w[ws->n++] = (struct slice){word, len};
}

static int word_matches(const char *key, size_t kn, struct slice w)
{
	struct slice c[MAX_CANDIDATES];
	size_t nc = candidates(w.p, w.n, 0, c);
	for (size_t i = 0; i < nc; i++)
		if (c[i].n == kn && memcmp(c[i].p, key, kn) == 0)
			return 1;
	return 0;
}

/* The longest entry starting at words[i], or -1. */
static int32_t match_at(const struct formulary *f, const struct words *ws, size_t i)
{
	struct slice c[MAX_CANDIDATES];
	int32_t best = -1;
	size_t nc = candidates(ws->w[i].p, ws->w[i].n, 1, c);
	for (size_t k = 0; k < nc; k++) {
		uint32_t h = hash_bytes(c[k].p, c[k].n);
		size_t s = find_slot(f, c[k].p, c[k].n, h);
		for (int32_t x = f->slot[s]; x >= 0; x = f->e[x].next) {
			const struct entry *e = &f->e[x];
			if (i + e->nwords > ws->n || (best >= 0 && e->nwords <= f->e[best].nwords))
				continue;
			int all = 1;
			for (int j = 1; j < e->nwords && all; j++)
				all = word_matches(e->keys + e->off[j], e->len[j], ws->w[i + j]);
			if (all)
				best = x;
		}
	}
	return best;
}

/* Copies src into dst (n bytes), cutting at a character boundary. */
static void copy_utf8(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);
	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int formulary_match(const struct formulary *f, const char *text, char *matched, size_t n)
{
	char *cut = NULL, *folded = NULL;
	struct words ws = {0};
	int rc = 0;

	ws.w = ws.inline_w;
	ws.cap = sizeof ws.inline_w / sizeof ws.inline_w[0];
	if (matched && n)
		matched[0] = '\0';
	if (!f || !text || f->n == 0)
		return 0;
	size_t len = strnlen(text, FORMULARY_MAX_TEXT + 1);
	if (len > FORMULARY_MAX_TEXT) {
		/* Read the first FORMULARY_MAX_TEXT bytes, cut at a character. */
		len = FORMULARY_MAX_TEXT;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
		cut = xstrndup(text, len);
		text = cut;
	}
	folded = text_casefold(text);
	if (!folded) {
		rc = CW_EINVAL;
		goto out;
	}
	if (text_words(folded, push_word, &ws) < 0) {
		rc = CW_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < ws.n; i++) {
		int32_t x = match_at(f, &ws, i);
		if (x >= 0) {
			if (matched && n)
				copy_utf8(matched, n, f->e[x].name);
			rc = 1;
			break;
		}
	}
out:
	if (ws.w != ws.inline_w)
		free(ws.w);
	free(folded);
	free(cut);
	return rc;
}
