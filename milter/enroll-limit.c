/* SPDX-License-Identifier: BSD-2-Clause */
#include "enroll-limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One login or domain in the current window. */
struct counted {
	char kind;		/* 'l' login, 'd' domain */
	char *name;
	unsigned issued;
	bool refusal_logged;
};

struct enroll_limit {
	pthread_mutex_t lock;
	time_t window;		/* start of the current window */
	struct counted *items;
	size_t n, capacity;
	bool full_logged;
};

struct enroll_limit *enroll_limit_new(void)
{
	struct enroll_limit *l = calloc(1, sizeof(*l));
	if (l != NULL && pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void forget_all(struct enroll_limit *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].name);
	l->n = 0;
	l->full_logged = false;
}

void enroll_limit_free(struct enroll_limit **limit)
{
	if (limit == NULL || *limit == NULL)
		return;
	forget_all(*limit);
	free((*limit)->items);
	pthread_mutex_destroy(&(*limit)->lock);
	free(*limit);
	*limit = NULL;
}

/* A new window forgets the last one's counts. */
static void enter_window(struct enroll_limit *l, time_t now)
{
	time_t start = now - now % ENROLL_LIMIT_WINDOW;
	if (start != l->window) {
		forget_all(l);
		l->window = start;
	}
}

static struct counted *find(struct enroll_limit *l, char kind,
			    const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].kind == kind &&
		    strcasecmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

/* The entry for name, added at zero when absent; NULL when the table is
 * full or memory ran out. */
static struct counted *find_or_add(struct enroll_limit *l, char kind,
				   const char *name)
{
	struct counted *c = find(l, kind, name);
	if (c != NULL)
		return c;
	if (l->n == ENROLL_LIMIT_MAX_KEYS)
		return NULL;
	if (l->n == l->capacity) {
		size_t cap = l->capacity ? l->capacity * 2 : 16;
		struct counted *items = realloc(l->items, cap * sizeof(*items));
		if (items == NULL)
			return NULL;
		l->items = items;
		l->capacity = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return NULL;
	l->items[l->n] = (struct counted){ kind, copy, 0, false };
	return &l->items[l->n++];
}

static bool has_login(const char *login)
{
	return login != NULL && login[0] != '\0';
}

/* Checks one login or domain against its limit; *first_r is set on the
 * first refusal of the window. */
static enum enroll_limit_verdict check_one(struct enroll_limit *l, char kind,
					   const char *name, unsigned limit,
					   bool *first_r)
{
	if (limit == 0)
		return ENROLL_LIMIT_ALLOWED;
	struct counted *c = find(l, kind, name);
	if (c == NULL) {
		if (l->n < ENROLL_LIMIT_MAX_KEYS)
			return ENROLL_LIMIT_ALLOWED;
		*first_r = !l->full_logged;
		l->full_logged = true;
		return ENROLL_LIMIT_FULL;
	}
	if (c->issued < limit)
		return ENROLL_LIMIT_ALLOWED;
	*first_r = !c->refusal_logged;
	c->refusal_logged = true;
	return kind == 'l' ? ENROLL_LIMIT_LOGIN : ENROLL_LIMIT_DOMAIN;
}

enum enroll_limit_verdict enroll_limit_check(struct enroll_limit *limit,
					     const char *login,
					     const char *domain,
					     unsigned per_login,
					     unsigned per_domain, time_t now,
					     bool *first_r)
{
	bool first = false;
	enum enroll_limit_verdict v = ENROLL_LIMIT_ALLOWED;
	pthread_mutex_lock(&limit->lock);
	enter_window(limit, now);
	if (has_login(login))
		v = check_one(limit, 'l', login, per_login, &first);
	if (v == ENROLL_LIMIT_ALLOWED && domain != NULL)
		v = check_one(limit, 'd', domain, per_domain, &first);
	pthread_mutex_unlock(&limit->lock);
	if (first_r != NULL)
		*first_r = first;
	return v;
}

void enroll_limit_record(struct enroll_limit *limit, const char *login,
			 const char *domain, time_t now)
{
	pthread_mutex_lock(&limit->lock);
	enter_window(limit, now);
	struct counted *c;
	if (has_login(login) && (c = find_or_add(limit, 'l', login)) != NULL)
		c->issued++;
	if (domain != NULL && (c = find_or_add(limit, 'd', domain)) != NULL)
		c->issued++;
	pthread_mutex_unlock(&limit->lock);
}
