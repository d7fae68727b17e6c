/* The metrics listener: a minimal HTTP/1.0 server written for this one
 * job (no library: the whole protocol needed is one request line). Every
 * socket is non-blocking and every wait is a poll() that also watches the
 * stop pipe, so stopping never waits on a client. */
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

/* Waits until fd is ready for events, the stop pipe is written, or the
 * deadline passes. Returns 1 when fd is ready, 0 otherwise. */
static int wait_ready(const struct smx_metrics_http *h, int fd, short events,
		      int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p[2] = { { fd, events, 0 },
				       { h->stop_pipe[0], POLLIN, 0 } };
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || p[1].revents != 0)
			return 0;
		return 1;
	}
}

/* Reads a request head (up to the empty line) into buf. Returns its
 * length, 0 when the client went away or was too slow, -1 when it is
 * longer than the buffer. */
static ssize_t read_head(const struct smx_metrics_http *h, int fd, char *buf,
			 size_t size, int64_t deadline)
{
	size_t used = 0;
	while (used < size - 1) {
		if (!wait_ready(h, fd, POLLIN, deadline))
			return 0;
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return 0;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return (ssize_t)used;
	}
	return -1;
}

static bool write_all(const struct smx_metrics_http *h, int fd,
		      const char *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		if (!wait_ready(h, fd, POLLOUT, deadline))
			return false;
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static void respond(const struct smx_metrics_http *h, int fd,
		    const char *status, const char *type, const char *extra,
		    const char *body, size_t len, bool head_only,
		    int64_t deadline)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Type: "
			 "%s\r\nContent-Length: %zu\r\n%sConnection: close"
			 "\r\n\r\n", status, type, len, extra);
	if (n > 0 && (size_t)n < sizeof(head) &&
	    write_all(h, fd, head, (size_t)n, deadline) && !head_only)
		write_all(h, fd, body, len, deadline);
}

static void respond_text(const struct smx_metrics_http *h, int fd,
			 const char *status, const char *extra,
			 int64_t deadline)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);
	respond(h, fd, status, "text/plain; charset=utf-8", extra, body,
		(size_t)n, false, deadline);
}

/* True when the request target names the metrics (a query is ignored). */
static bool is_metrics_path(const char *target, size_t len)
{
	static const char path[] = "/metrics";
	size_t n = sizeof(path) - 1;
	return len >= n && memcmp(target, path, n) == 0 &&
	       (len == n || target[n] == '?');
}

/* Answers one request line: "METHOD SP TARGET [SP VERSION]". */
static void answer(const struct smx_metrics_http *h, int fd, const char *req,
		   int64_t deadline)
{
	size_t line_len = strcspn(req, "\r\n");
	const char *sp = memchr(req, ' ', line_len);
	if (sp == NULL || sp == req) {
		respond_text(h, fd, "400 Bad Request", "", deadline);
		return;
	}
	size_t method_len = (size_t)(sp - req);
	const char *target = sp + 1;
	size_t target_len = strcspn(target, " \r\n");
	bool get = method_len == 3 && memcmp(req, "GET", 3) == 0;
	bool head = method_len == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!get && !head) {
		respond_text(h, fd, "405 Method Not Allowed",
			     "Allow: GET, HEAD\r\n", deadline);
		return;
	}
	if (!is_metrics_path(target, target_len)) {
		respond_text(h, fd, "404 Not Found", "", deadline);
		return;
	}
	size_t len = 0;
	char *text = smx_metrics_render(&len);
	if (text == NULL)
		respond_text(h, fd, "503 Service Unavailable", "", deadline);
	else
		respond(h, fd, "200 OK", "text/plain; version=0.0.4; "
			"charset=utf-8", "", text, len, head, deadline);
	free(text);
}

static void serve(const struct smx_metrics_http *h, int fd)
{
	char req[MAX_REQUEST];
	int64_t deadline = now_ms() + h->timeout_ms;
	ssize_t n = read_head(h, fd, req, sizeof(req), deadline);
	if (n < 0)
		respond_text(h, fd, "400 Bad Request", "", deadline);
	else if (n > 0)
		answer(h, fd, req, deadline);
}

static void *serve_loop(void *arg)
{
	struct smx_metrics_http *h = arg;
	for (;;) {
		struct pollfd p[2] = { { h->listen_fd, POLLIN, 0 },
				       { h->stop_pipe[0], POLLIN, 0 } };
		int n = poll(p, 2, -1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[1].revents != 0)
			break;
		int fd = accept4(h->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
			       errno == ENOBUFS || errno == ENOMEM)) {
			/* the connection stays queued: wait, or poll spins */
			wait_ready(h, -1, 0, now_ms() + 100);
			continue;
		}
		if (fd < 0)
			continue;	/* EAGAIN, a client that reset */
		serve(h, fd);
		close(fd);
	}
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
