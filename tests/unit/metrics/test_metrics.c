/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of smx_metrics: the Prometheus text format, histogram
 * buckets (inclusive upper bounds, cumulative output), deltas for the
 * store, the listen-address parser, and the HTTP listener over a real
 * loopback socket. The counters are process-wide, so every check compares
 * a value before and after. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <smx/hostport.h>
#include <smx/metrics-http.h>
#include <smx/metrics.h>

/* The value of the sample whose name and labels are exactly series, in
 * microunits (so that sums compare exactly); fails the test when the
 * series is missing. */
static uint64_t sample_micro(const char *series)
{
	size_t len = 0;
	char *text = smx_metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	size_t n = strlen(series);
	for (char *line = text; *line != '\0';) {
		char *end = strchr(line, '\n');
		assert_non_null(end);	/* every line ends in LF */
		if (strncmp(line, series, n) == 0 && line[n] == ' ') {
			unsigned long long whole = 0, frac = 0;
			char fracs[8] = "";
			int got = sscanf(line + n + 1, "%llu.%6[0-9]", &whole,
					 fracs);
			assert_true(got >= 1);
			size_t digits = strlen(fracs);
			frac = digits ? strtoull(fracs, NULL, 10) : 0;
			for (; digits < 6; digits++)
				frac *= 10;
			free(text);
			return whole * 1000000ull + frac;
		}
		line = end + 1;
	}
	fail_msg("series %s not in the output", series);
	free(text);
	return 0;
}

static uint64_t sample(const char *series)
{
	return sample_micro(series) / 1000000ull;
}

static void every_line_is_well_formed(void **state)
{
	(void)state;
	char *text = smx_metrics_render(NULL);
	assert_non_null(text);
	size_t helps = 0, types = 0, samples = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "# HELP smime_milter_", 20) == 0) {
			helps++;
			continue;
		}
		if (strncmp(line, "# TYPE smime_milter_", 20) == 0) {
			types++;
			assert_true(strstr(line, " counter") ||
				    strstr(line, " gauge") ||
				    strstr(line, " histogram"));
			continue;
		}
		samples++;
		assert_true(strncmp(line, "smime_milter_", 13) == 0);
		char *space = strrchr(line, ' ');
		assert_non_null(space);
		char *end = NULL;
		strtod(space + 1, &end);
		assert_true(end != space + 1 && *end == '\0');
		/* balanced braces and quotes in the label set */
		char *open = strchr(line, '{');
		if (open != NULL) {
			assert_true(space[-1] == '}');
			size_t quotes = 0;
			for (char *p = open; p < space; p++)
				quotes += *p == '"';
			assert_int_equal(quotes % 2, 0);
		}
	}
	assert_int_equal(helps, types);
	assert_int_equal(types, 21);	/* 17 counters, 2 gauges, 2 histograms */
	assert_true(samples > 100);
	free(text);
}

static void counters_count_by_label(void **state)
{
	(void)state;
	const char *sign = "smime_milter_messages_total{direction=\"outbound\","
			   "action=\"sign\"}";
	const char *other = "smime_milter_messages_total{direction=\"other\","
			    "action=\"other\"}";
	uint64_t s0 = sample(sign), o0 = sample(other);
	for (int i = 0; i < 3; i++)
		smx_metrics_message("outbound", "sign", 1000);
	smx_metrics_message("sideways\"\n", NULL, 1000);	/* hostile */
	assert_int_equal(sample(sign), s0 + 3);
	assert_int_equal(sample(other), o0 + 1);

	uint64_t p0 = sample("smime_milter_signatures_verified_total"
			     "{result=\"pass\"}");
	smx_metrics_signature_verified("pass");
	assert_int_equal(sample("smime_milter_signatures_verified_total"
				"{result=\"pass\"}"), p0 + 1);

	uint64_t h0 = sample("smime_milter_harvests_total");
	smx_metrics_harvest(2);
	assert_int_equal(sample("smime_milter_harvests_total"), h0 + 2);

	const char *refused = "smime_milter_decryptions_refused_total"
			      "{reason=\"mismatch\"}";
	uint64_t r0 = sample(refused);
	smx_metrics_decryption_refused("mismatch");
	assert_int_equal(sample(refused), r0 + 1);
	uint64_t x0 = sample("smime_milter_decryptions_refused_total"
			     "{reason=\"other\"}");
	smx_metrics_decryption_refused("anything else");
	assert_int_equal(sample("smime_milter_decryptions_refused_total"
				"{reason=\"other\"}"), x0 + 1);

	const char *limited = "smime_milter_enrollments_total"
			      "{result=\"limited\"}";
	uint64_t e0 = sample(limited);
	smx_metrics_enrollment(SMX_METRICS_ENROLL_LIMITED);
	assert_int_equal(sample(limited), e0 + 1);

	uint64_t f0 = sample("smime_milter_failures_total{reason=\"mta\"}");
	smx_metrics_failure(SMX_METRICS_FAIL_MTA);
	assert_int_equal(sample("smime_milter_failures_total{reason=\"mta\"}"),
			 f0 + 1);

	uint64_t c0 = sample("smime_milter_connections_refused_total");
	smx_metrics_connection_refused();
	assert_int_equal(sample("smime_milter_connections_refused_total"),
			 c0 + 1);
}

/* An outage counts once however often it is reported; the gauge follows
 * the last report. */
static void store_outages_count_once(void **state)
{
	(void)state;
	const char *outages = "smime_milter_store_outages_total";
	assert_int_equal(sample("smime_milter_store_up"), 1);
	uint64_t o0 = sample(outages);
	smx_metrics_store_state(false);
	smx_metrics_store_state(false);
	assert_int_equal(sample("smime_milter_store_up"), 0);
	assert_int_equal(sample(outages), o0 + 1);
	smx_metrics_store_state(true);
	smx_metrics_store_state(true);
	assert_int_equal(sample("smime_milter_store_up"), 1);
	smx_metrics_store_state(false);
	assert_int_equal(sample(outages), o0 + 2);
	smx_metrics_store_state(true);
}

#define DIR_SERIES(s) "smime_milter_stage_duration_seconds" s

/* Bucket bounds are inclusive and the output is cumulative. */
/* The expiry gauge shows the last survey, and is not a counter handed
 * to the store. */
static void expiring_gauge_shows_the_last_survey(void **state)
{
	(void)state;
	smx_metrics_set_expiring(3, 7);
	assert_int_equal(sample("smime_milter_certificates_expiring"
				"{kind=\"identity\"}"), 3);
	assert_int_equal(sample("smime_milter_certificates_expiring"
				"{kind=\"recipient\"}"), 7);
	smx_metrics_set_expiring(0, 1);
	assert_int_equal(sample("smime_milter_certificates_expiring"
				"{kind=\"identity\"}"), 0);
	assert_int_equal(sample("smime_milter_certificates_expiring"
				"{kind=\"recipient\"}"), 1);
}

static void histogram_buckets(void **state)
{
	(void)state;
	const char *le005 = DIR_SERIES("_bucket{stage=\"directory\",le=\"0.005\"}");
	const char *le01 = DIR_SERIES("_bucket{stage=\"directory\",le=\"0.01\"}");
	const char *le10 = DIR_SERIES("_bucket{stage=\"directory\",le=\"10\"}");
	const char *inf = DIR_SERIES("_bucket{stage=\"directory\",le=\"+Inf\"}");
	const char *count = DIR_SERIES("_count{stage=\"directory\"}");
	const char *sum = DIR_SERIES("_sum{stage=\"directory\"}");
	uint64_t a = sample(le005), b = sample(le01), c = sample(le10),
		 d = sample(inf), n = sample(count), s = sample_micro(sum);
	smx_metrics_directory_lookup(SMX_METRICS_LOOKUP_HIT, 5000);
	smx_metrics_directory_lookup(SMX_METRICS_LOOKUP_MISS, 5001);
	smx_metrics_directory_lookup(SMX_METRICS_LOOKUP_UNKNOWN, 10000001);
	assert_int_equal(sample(le005), a + 1);
	assert_int_equal(sample(le01), b + 2);
	assert_int_equal(sample(le10), c + 2);
	assert_int_equal(sample(inf), d + 3);
	assert_int_equal(sample(count), n + 3);
	assert_int_equal(sample_micro(sum), s + 10010002);
	assert_int_equal(sample("smime_milter_directory_lookups_total"
				"{result=\"unknown\"}") >= 1, 1);
}

struct collected {
	char names[128][96];
	int64_t deltas[128];
	size_t n;
	int refuse;
};

static int collect(void *arg, const char *name, int64_t delta)
{
	struct collected *c = arg;
	if (c->refuse)
		return -1;
	assert_true(c->n < 128);
	snprintf(c->names[c->n], sizeof(c->names[0]), "%s", name);
	c->deltas[c->n++] = delta;
	return 0;
}

static int64_t delta_of(const struct collected *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return c->deltas[i];
	return 0;
}

/* Increases reach the store once; a refused one waits for the next. */
static void flush_hands_over_deltas(void **state)
{
	(void)state;
	struct collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	smx_metrics_flush(collect, c);	/* whatever earlier tests did */
	c->n = 0;
	assert_int_equal(smx_metrics_flush(collect, c), 0);
	assert_int_equal(c->n, 0);

	smx_metrics_message("inbound", "pass", 10);
	smx_metrics_message("inbound", "pass", 10);
	smx_metrics_encryption(10);
	assert_int_equal(smx_metrics_flush(collect, c), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(delta_of(c, "milter.messages.inbound.pass"), 2);
	assert_int_equal(delta_of(c, "milter.encryptions"), 1);

	c->n = 0;
	c->refuse = 1;
	smx_metrics_cache_hit();
	assert_int_equal(smx_metrics_flush(collect, c), 1);
	smx_metrics_cache_hit();
	c->refuse = 0;
	assert_int_equal(smx_metrics_flush(collect, c), 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(delta_of(c, "milter.cache_hits"), 2);
	free(c);
}

static void flusher_thread_flushes_and_stops(void **state)
{
	(void)state;
	struct collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	smx_metrics_flush(collect, c);
	c->n = 0;
	assert_int_equal(smx_metrics_flusher_start(1, collect, c), 0);
	assert_int_equal(smx_metrics_flusher_start(1, collect, c), -1);
	smx_metrics_signature_made(10);
	for (int i = 0; i < 40 && c->n == 0; i++)
		usleep(100 * 1000);	/* the interval is one second */
	assert_int_equal(delta_of(c, "milter.signatures.made"), 1);
	smx_metrics_decryption(10);
	smx_metrics_flusher_stop();	/* flushes the rest */
	assert_int_equal(delta_of(c, "milter.decryptions"), 1);
	free(c);
}

static void listen_addresses(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int ok, loopback, family, port;
	} cases[] = {
		{ "9464", 1, 1, AF_INET, 9464 },
		{ "127.0.0.1:9464", 1, 1, AF_INET, 9464 },
		{ "127.8.9.10:1", 1, 1, AF_INET, 1 },
		{ "[::1]:9464", 1, 1, AF_INET6, 9464 },
		{ "[::ffff:127.0.0.1]:65535", 1, 1, AF_INET6, 65535 },
		{ "0.0.0.0:9464", 1, 0, AF_INET, 9464 },
		{ "192.0.2.1:80", 1, 0, AF_INET, 80 },
		{ "[::]:9464", 1, 0, AF_INET6, 9464 },
		{ "[2001:db8::1]:9464", 1, 0, AF_INET6, 9464 },
		{ "", 0, 0, 0, 0 },
		{ "0", 0, 0, 0, 0 },
		{ "65536", 0, 0, 0, 0 },
		{ "123456", 0, 0, 0, 0 },
		{ "-1", 0, 0, 0, 0 },
		{ "localhost:9464", 0, 0, 0, 0 },
		{ "127.0.0.1", 0, 0, 0, 0 },
		{ "127.0.0.1:", 0, 0, 0, 0 },
		{ ":9464", 0, 0, 0, 0 },
		{ "::1:9464", 0, 0, 0, 0 },
		{ "[::1]", 0, 0, 0, 0 },
		{ "[::1:9464", 0, 0, 0, 0 },
		{ "[]:9464", 0, 0, 0, 0 },
		{ "1.2.3.4:9464x", 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage a;
		socklen_t len = 0;
		bool ok = smx_hostport_parse(cases[i].text, &a, &len);
		if (ok != (bool)cases[i].ok)
			fail_msg("'%s': got %s, want %s", cases[i].text,
				 ok ? "valid" : "invalid",
				 cases[i].ok ? "valid" : "invalid");
		if (!ok)
			continue;
		assert_int_equal(a.ss_family, cases[i].family);
		unsigned port = ntohs(a.ss_family == AF_INET
			? ((struct sockaddr_in *)&a)->sin_port
			: ((struct sockaddr_in6 *)&a)->sin6_port);
		assert_int_equal(port, cases[i].port);
		if (smx_sockaddr_is_loopback((struct sockaddr *)&a) !=
		    (bool)cases[i].loopback)
			fail_msg("'%s': loopback should be %d", cases[i].text,
				 cases[i].loopback);
	}
	assert_false(smx_hostport_parse(NULL, NULL, NULL));
}

/* --- the HTTP listener ------------------------------------------------- */

static int connect_to(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends request, reads until the server closes; returns the answer. */
static char *exchange(unsigned short port, const char *request, size_t len)
{
	int fd = connect_to(port);
	size_t size = 1 << 20, used = 0;
	char *buf = malloc(size);
	assert_non_null(buf);
	if (len > 0)
		assert_int_equal(send(fd, request, len, MSG_NOSIGNAL),
				 (ssize_t)len);
	ssize_t n;
	while ((n = read(fd, buf + used, size - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(fd);
	return buf;
}

static char *get(unsigned short port, const char *request)
{
	return exchange(port, request, strlen(request));
}

static struct smx_metrics_http *start_server(unsigned timeout_ms)
{
	struct sockaddr_storage a;
	socklen_t len;
	char err[128];
	struct smx_metrics_http *h = NULL;
	assert_true(smx_hostport_parse("127.0.0.1:1", &a, &len));
	((struct sockaddr_in *)&a)->sin_port = 0;	/* any free port */
	assert_int_equal(smx_metrics_http_open((struct sockaddr *)&a, len,
					       timeout_ms, &h, err,
					       sizeof(err)), 0);
	assert_int_equal(smx_metrics_http_start(h), 0);
	return h;
}

static void http_serves_metrics(void **state)
{
	(void)state;
	struct smx_metrics_http *h = start_server(2000);
	unsigned short port = smx_metrics_http_port(h);
	assert_true(port > 0);
	char *r = get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(r, "\r\nContent-Type: text/plain; "
				  "version=0.0.4"));
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	size_t declared = 0;
	char *cl = strstr(r, "\r\nContent-Length: ");
	assert_non_null(cl);
	declared = strtoul(cl + 18, NULL, 10);
	assert_int_equal(declared, strlen(body));
	assert_true(strncmp(body, "# HELP smime_milter_", 20) == 0);
	free(r);

	r = get(port, "GET /metrics?x=1 HTTP/1.0\n\n");	/* bare LF too */
	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	free(r);
	r = get(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_true(strlen(strstr(r, "\r\n\r\n")) == 4);	/* no body */
	free(r);
	smx_metrics_http_close(&h);
	assert_null(h);
}

static void http_refuses_other_requests(void **state)
{
	(void)state;
	struct smx_metrics_http *h = start_server(2000);
	unsigned short port = smx_metrics_http_port(h);
	static const struct { const char *req, *status; } cases[] = {
		{ "GET / HTTP/1.0\r\n\r\n", "404" },
		{ "GET /metricsx HTTP/1.0\r\n\r\n", "404" },
		{ "GET /metrics/ HTTP/1.0\r\n\r\n", "404" },
		{ "POST /metrics HTTP/1.0\r\n\r\n", "405" },
		{ "get /metrics HTTP/1.0\r\n\r\n", "405" },
		{ "GARBAGE\r\n\r\n", "400" },
		{ " /metrics\r\n\r\n", "400" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = get(port, cases[i].req);
		char want[32];
		snprintf(want, sizeof(want), "HTTP/1.0 %s ", cases[i].status);
		if (strncmp(r, want, strlen(want)) != 0)
			fail_msg("%s: got %.40s", cases[i].req, r);
		free(r);
	}
	/* a head larger than the limit */
	size_t big = 10000;
	char *req = malloc(big);
	assert_non_null(req);
	memset(req, 'a', big);
	memcpy(req, "GET /", 5);
	char *r = exchange(port, req, big);
	/* the unread rest may turn the close into a reset that overtakes
	 * the answer; either way the listener must go on serving */
	assert_true(r[0] == '\0' || strncmp(r, "HTTP/1.0 400 ", 13) == 0);
	free(r);
	free(req);
	r = get(port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	free(r);
	smx_metrics_http_close(&h);
}

/* A client that sends nothing is dropped after the timeout, and the next
 * client is served; closing does not wait for a connected client. */
static void http_times_out_slow_clients(void **state)
{
	(void)state;
	struct smx_metrics_http *h = start_server(300);
	unsigned short port = smx_metrics_http_port(h);
	int idle = connect_to(port);
	char *r = get(port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	free(r);
	char c;
	assert_int_equal(read(idle, &c, 1), 0);	/* closed by the server */
	close(idle);

	/* A server whose client timeout is long (10 s): closing it with
	 * an idle client connected must not wait for that timeout. */
	smx_metrics_http_close(&h);
	h = start_server(10000);
	port = smx_metrics_http_port(h);
	idle = connect_to(port);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(50 * 1000);	/* let the server take the connection */
	smx_metrics_http_close(&h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		  (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* Far under the 10 s client timeout: close did not wait for the
	 * idle client (a generous bound, for loaded and sanitized runs). */
	assert_true(ms < 5000);
	close(idle);
}

/* Sends request on a connection whose reads give up after 5 s, and
 * returns what came back by then ("" when nothing did). */
static char *get_within_5s(unsigned short port, const char *request)
{
	int fd = connect_to(port);
	struct timeval tv = { .tv_sec = 5 };
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	size_t len = strlen(request), size = 1 << 20, used = 0;
	assert_int_equal(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	char *buf = malloc(size);
	assert_non_null(buf);
	ssize_t n;
	while ((n = read(fd, buf + used, size - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(fd);
	return buf;
}

/* Clients that connect and say nothing do not keep a scrape waiting,
 * however long the client timeout: three of them, then a scrape that
 * must be answered while they are still connected; and more idle
 * connections than the listener serves at once make room for a new one
 * instead of locking it out. */
static void http_serves_while_clients_idle(void **state)
{
	(void)state;
	struct smx_metrics_http *h = start_server(60000);
	unsigned short port = smx_metrics_http_port(h);
	int idle[40];
	for (size_t i = 0; i < 3; i++)
		idle[i] = connect_to(port);
	char *r = get_within_5s(port, "GET /metrics HTTP/1.0\r\n\r\n");
	if (strncmp(r, "HTTP/1.0 200 OK\r\n", 17) != 0)
		fail_msg("scrape with 3 idle clients connected: got '%.40s'", r);
	free(r);
	for (size_t i = 3; i < 40; i++)
		idle[i] = connect_to(port);
	r = get_within_5s(port, "GET /metrics HTTP/1.0\r\n\r\n");
	if (strncmp(r, "HTTP/1.0 200 OK\r\n", 17) != 0)
		fail_msg("scrape with 40 idle clients connected: got '%.40s'",
			 r);
	free(r);
	for (size_t i = 0; i < 40; i++)
		close(idle[i]);
	smx_metrics_http_close(&h);
}

static void http_open_reports_errors(void **state)
{
	(void)state;
	struct smx_metrics_http *a = start_server(1000), *b = NULL;
	struct sockaddr_storage addr;
	socklen_t len;
	char text[32], err[128] = "";
	snprintf(text, sizeof(text), "127.0.0.1:%u", smx_metrics_http_port(a));
	assert_true(smx_hostport_parse(text, &addr, &len));
	assert_int_equal(smx_metrics_http_open((struct sockaddr *)&addr, len,
					       1000, &b, err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "in use"));
	smx_metrics_http_close(&a);
	smx_metrics_http_close(&a);	/* NULL-safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_line_is_well_formed),
		cmocka_unit_test(counters_count_by_label),
		cmocka_unit_test(store_outages_count_once),
		cmocka_unit_test(expiring_gauge_shows_the_last_survey),
		cmocka_unit_test(histogram_buckets),
		cmocka_unit_test(flush_hands_over_deltas),
		cmocka_unit_test(flusher_thread_flushes_and_stops),
		cmocka_unit_test(listen_addresses),
		cmocka_unit_test(http_serves_metrics),
		cmocka_unit_test(http_refuses_other_requests),
		cmocka_unit_test(http_times_out_slow_clients),
		cmocka_unit_test(http_serves_while_clients_idle),
		cmocka_unit_test(http_open_reports_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
