/* SPDX-License-Identifier: BSD-2-Clause */
/* The metrics listener: a minimal HTTP/1.0 server written for this one
 * job (no library: the whole protocol needed is one request line). One
 * thread serves up to MAX_CLIENTS connections at once from one poll()
 * loop that also watches the stop pipe: every socket is non-blocking, so
 * neither a slow client nor stopping ever waits on another client. */
#include <smx/metrics-http.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smx/metrics.h>

#define MAX_REQUEST 4096
#define BACKLOG 16
#define MAX_CLIENTS 16		/* connections served at once */
#define ACCEPT_PAUSE_MS 100	/* out of descriptors: retry after this */

struct smx_metrics_http {
	int listen_fd;
	int stop_pipe[2];	/* writing a byte stops the thread */
	unsigned timeout_ms;
	unsigned short port;
	bool started;
	pthread_t thread;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One client: reading its request head, then writing the answer. */
struct client {
	int fd;			/* -1: the slot is free */
	int64_t deadline;	/* accepted + timeout: dropped after it */
	char req[MAX_REQUEST];
	size_t used;
	char *out;		/* the whole answer once the head is read */
	size_t out_len, out_pos;
};

/* Builds "HTTP/1.0 STATUS" with its headers and (unless head_only) the
 * body into one allocated answer; NULL when memory ran out. */
static char *build_response(const char *status, const char *type,
			    const char *extra, const char *body, size_t len,
			    bool head_only, size_t *out_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Type: "
			 "%s\r\nContent-Length: %zu\r\n%sConnection: close"
			 "\r\n\r\n", status, type, len, extra);
	if (n <= 0 || (size_t)n >= sizeof(head))
		return NULL;
	size_t body_len = head_only ? 0 : len;
	char *out = malloc((size_t)n + body_len);
	if (out == NULL)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (body_len > 0)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}

static char *text_response(const char *status, const char *extra,
			   size_t *out_len)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);
	return build_response(status, "text/plain; charset=utf-8", extra, body,
			      (size_t)n, false, out_len);
}

/* True when the request target names the metrics (a query is ignored). */
static bool is_metrics_path(const char *target, size_t len)
{
	static const char path[] = "/metrics";
	size_t n = sizeof(path) - 1;
	return len >= n && memcmp(target, path, n) == 0 &&
	       (len == n || target[n] == '?');
}

/* The answer to one request line: "METHOD SP TARGET [SP VERSION]". */
static char *answer(const char *req, size_t *out_len)
{
	size_t line_len = strcspn(req, "\r\n");
	const char *sp = memchr(req, ' ', line_len);
	if (sp == NULL || sp == req)
		return text_response("400 Bad Request", "", out_len);
	size_t method_len = (size_t)(sp - req);
	const char *target = sp + 1;
	size_t target_len = strcspn(target, " \r\n");
	bool get = method_len == 3 && memcmp(req, "GET", 3) == 0;
	bool head = method_len == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!get && !head)
		return text_response("405 Method Not Allowed",
				     "Allow: GET, HEAD\r\n", out_len);
	if (!is_metrics_path(target, target_len))
		return text_response("404 Not Found", "", out_len);
	size_t len = 0;
	char *text = smx_metrics_render(&len);
	if (text == NULL)
		return text_response("503 Service Unavailable", "", out_len);
	char *out = build_response("200 OK", "text/plain; version=0.0.4; "
				   "charset=utf-8", "", text, len, head,
				   out_len);
	free(text);
	return out;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->used = c->out_len = c->out_pos = 0;
}

/* Reads what has arrived; once the head is complete (or too long), the
 * answer replaces it. Returns false when the client is done with. */
static bool client_read(struct client *c)
{
	ssize_t n = read(c->fd, c->req + c->used, sizeof(c->req) - 1 - c->used);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->used += (size_t)n;
	c->req[c->used] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL)
		c->out = answer(c->req, &c->out_len);
	else if (c->used == sizeof(c->req) - 1)
		c->out = text_response("400 Bad Request", "", &c->out_len);
	else
		return true;
	return c->out != NULL;
}

/* Sends more of the answer. Returns false when it is all sent or the
 * client went away. */
static bool client_write(struct client *c)
{
	ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos,
			 MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->out_pos += (size_t)n;
	return c->out_pos < c->out_len;
}

/* A free slot for a new client. When every slot is taken, the oldest
 * client still sending its request (or else the oldest of all) makes
 * room: idle connections can delay a scrape, never block it. */
static struct client *client_slot(struct client *clients)
{
	struct client *oldest = NULL, *oldest_reading = NULL;
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];
		if (c->fd < 0)
			return c;
		if (oldest == NULL || c->deadline < oldest->deadline)
			oldest = c;
		if (c->out == NULL && (oldest_reading == NULL ||
				       c->deadline < oldest_reading->deadline))
			oldest_reading = c;
	}
	struct client *victim = oldest_reading ? oldest_reading : oldest;
	client_close(victim);
	return victim;
}

/* Takes the waiting connections. Returns false when accept() is out of
 * descriptors or memory (the caller pauses the listener a little, or
 * poll() would report the queued connection again at once). */
static bool accept_clients(struct smx_metrics_http *h, struct client *clients)
{
	for (;;) {
		int fd = accept4(h->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return !(errno == EMFILE || errno == ENFILE ||
				 errno == ENOBUFS || errno == ENOMEM);
		struct client *c = client_slot(clients);
		c->fd = fd;
		c->deadline = now_ms() + h->timeout_ms;
	}
}

/* Serves every client whose socket poll() found ready, and drops those
 * that are done or past their deadline. */
static void serve_clients(struct client *clients, const struct pollfd *p,
			  size_t n)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < n; i++) {
		struct client *c = NULL;
		for (size_t k = 0; k < MAX_CLIENTS && c == NULL; k++)
			if (clients[k].fd == p[i].fd)
				c = &clients[k];
		if (c == NULL)
			continue;
		bool keep = true;
		if (p[i].revents & (POLLERR | POLLNVAL))
			keep = false;
		else if (c->out == NULL && (p[i].revents & (POLLIN | POLLHUP)))
			keep = client_read(c);
		else if (c->out != NULL && (p[i].revents & (POLLOUT | POLLHUP)))
			keep = client_write(c);
		if (!keep || now >= c->deadline)
			client_close(c);
	}
}

/* The poll set: the stop pipe, the listener (unless paused), then every
 * client. Returns the number of entries and the poll timeout. */
static size_t poll_set(const struct smx_metrics_http *h,
		       const struct client *clients, bool listening,
		       struct pollfd *p, int *timeout)
{
	size_t n = 0;
	int64_t now = now_ms(), next = -1;
	p[n++] = (struct pollfd){ h->stop_pipe[0], POLLIN, 0 };
	if (listening)
		p[n++] = (struct pollfd){ h->listen_fd, POLLIN, 0 };
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		const struct client *c = &clients[i];
		if (c->fd < 0)
			continue;
		p[n++] = (struct pollfd){ c->fd, c->out ? POLLOUT : POLLIN, 0 };
		if (next < 0 || c->deadline < next)
			next = c->deadline;
	}
	*timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
	return n;
}

static void *serve_loop(void *arg)
{
	struct smx_metrics_http *h = arg;
	struct client clients[MAX_CLIENTS];	/* 64 KiB of the stack */
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct client){ .fd = -1 };
	int64_t paused_until = 0;
	for (;;) {
		struct pollfd p[MAX_CLIENTS + 2];
		int timeout;
		bool listening = now_ms() >= paused_until;
		size_t n = poll_set(h, clients, listening, p, &timeout);
		if (!listening && (timeout < 0 || timeout > ACCEPT_PAUSE_MS))
			timeout = ACCEPT_PAUSE_MS;
		int ready = poll(p, n, timeout);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready < 0)
			continue;	/* revents unset: look again */
		if (p[0].revents != 0)
			break;
		size_t first = listening ? 2 : 1;
		/* clients first: an accept may reuse a closed client's fd */
		serve_clients(clients, p + first, n - first);
		if (ready > 0 && listening && p[1].revents != 0 &&
		    !accept_clients(h, clients))
			paused_until = now_ms() + ACCEPT_PAUSE_MS;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i]);
	return NULL;
}

static int bind_listener(struct smx_metrics_http *h,
			 const struct sockaddr *addr, socklen_t len)
{
	int one = 1;
	h->listen_fd = socket(addr->sa_family,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0)
		return -1;
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)	/* [::] means IPv6 only */
		setsockopt(h->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			   sizeof(one));
	if (bind(h->listen_fd, addr, len) != 0 ||
	    listen(h->listen_fd, BACKLOG) != 0)
		return -1;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	if (getsockname(h->listen_fd, (struct sockaddr *)&bound,
			&bound_len) != 0)
		return -1;
	h->port = ntohs(bound.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&bound)->sin6_port
				: ((struct sockaddr_in *)&bound)->sin_port);
	return 0;
}

int smx_metrics_http_open(const struct sockaddr *addr, socklen_t len,
			  unsigned timeout_ms,
			  struct smx_metrics_http **http_r, char *err,
			  size_t err_size)
{
	*http_r = NULL;
	struct smx_metrics_http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	h->listen_fd = h->stop_pipe[0] = h->stop_pipe[1] = -1;
	h->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (pipe2(h->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    bind_listener(h, addr, len) != 0) {
		snprintf(err, err_size, "%s", strerror(errno));
		smx_metrics_http_close(&h);
		return -1;
	}
	*http_r = h;
	return 0;
}

unsigned short smx_metrics_http_port(const struct smx_metrics_http *http)
{
	return http->port;
}

int smx_metrics_http_start(struct smx_metrics_http *http)
{
	if (http->started)
		return -1;
	if (pthread_create(&http->thread, NULL, serve_loop, http) != 0)
		return -1;
	http->started = true;
	return 0;
}

void smx_metrics_http_close(struct smx_metrics_http **http)
{
	if (http == NULL || *http == NULL)
		return;
	struct smx_metrics_http *h = *http;
	if (h->started) {
		ssize_t ignored = write(h->stop_pipe[1], "x", 1);
		(void)ignored;
		pthread_join(h->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (h->stop_pipe[i] >= 0)
			close(h->stop_pipe[i]);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	free(h);
	*http = NULL;
}
