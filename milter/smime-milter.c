/* SPDX-License-Identifier: BSD-2-Clause */
/* smime-milter: start-up, signals and shutdown. The order matters: the
 * socket is opened (as root if need be) before privileges are dropped,
 * and no thread exists before the daemon has forked.
 *
 * libmilter runs its own signal thread that stops the filter on SIGHUP;
 * sigpark.c parks that thread, so the signals stay blocked and pending
 * until the main thread takes them with sigwaitinfo(). smfi_main() runs
 * in a second thread; the main thread only waits for signals, hands a
 * SIGHUP to the reloader thread, and drives the graceful stop. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>

#include <smx/cfg.h>
#include <smx/directory.h>
#include <smx/hostport.h>
#include <smx/keyproc.h>
#include <smx/log.h>
#include <smx/metrics-http.h>
#include <smx/metrics.h>
#include <smx/smime.h>
#include <smx/store.h>

#include "callbacks.h"
#include "daemon.h"
#include "expiry.h"
#include "runtime.h"
#include "inbound.h"
#include "outbound.h"
#include "revrefresh.h"

#define DEFAULT_CONFIG "/etc/smime-milter/smime-milter.conf"
#define EXIT_USAGE 1
#define EXIT_RUNTIME 2
#define METRICS_FLUSH_SECONDS 5	/* counters reach the store this often */
#define METRICS_HTTP_TIMEOUT_MS 5000	/* per metrics request */

struct options {
	char *config;
	const char *socket;
	int foreground;
	int check_only;
	int key_process_fd;	/* -K FD:LANES: run as the key process on */
	unsigned key_process_lanes;	/* fds FD .. FD + LANES - 1 */
};

static pthread_t main_thread;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_wanted = PTHREAD_COND_INITIALIZER;
static int reload_pending;
static int reloader_stop;
static struct smx_metrics_http *metrics_http;	/* milter.metrics_listen */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: smime-milter [-f] [-n] [-c FILE] [-p SOCKET] | -V\n"
		"  -c FILE    configuration file (default %s)\n"
		"  -f         stay in the foreground, log to stderr\n"
		"  -n         check the configuration and exit\n"
		"  -p SOCKET  listen on SOCKET (inet:PORT@HOST, unix:/PATH)\n"
		"  -V         print the version and exit\n",
		DEFAULT_CONFIG);
}

static void print_version(void)
{
	char a[160], b[96], c[96];
	printf("smime-milter %s\n  %s\n  %s\n  %s\n", SMX_VERSION,
	       smime_library_versions(a, sizeof(a)),
	       store_library_versions(b, sizeof(b)),
	       directory_library_version(c, sizeof(c)));
}

/* -K FD[:LANES], given by the daemon to the key process it starts. */
static int parse_key_process_fds(const char *arg, struct options *o)
{
	unsigned fd = 0, lanes = 1;
	if (sscanf(arg, "%u:%u", &fd, &lanes) < 1 || fd < 3 || fd > 1024)
		return -1;
	o->key_process_fd = (int)fd;
	o->key_process_lanes = lanes;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int ch;
	static char default_config[] = DEFAULT_CONFIG;
	o->config = default_config;
	o->key_process_fd = -1;
	while ((ch = getopt(argc, argv, "c:fnp:K:Vh")) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'n': o->check_only = 1; break;
		case 'p': o->socket = optarg; break;
		case 'K':
			if (parse_key_process_fds(optarg, o) != 0) {
				usage(stderr);
				return -1;
			}
			break;
		case 'V': print_version(); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Loads the configuration, printing every error. NULL on failure. */
static struct cfg *load_config(const char *path, int to_stderr)
{
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	for (size_t i = 0; i < errors.count; i++) {
		if (to_stderr)
			fprintf(stderr, "%s\n", errors.lines[i]);
		else
			smx_log(LOG_ERR, "%s", errors.lines[i]);
	}
	cfg_errors_free(&errors);
	return cfg;
}

static void apply_log_level(const struct cfg *cfg)
{
	smx_log_set_level(cfg->milter.log_level);
}

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_text(a[i], b[i]))
			return false;
	return true;
}

/* The directory connection is set up once, from these settings (the
 * cache lifetimes are read per lookup and do follow a reload). */
static bool same_directory(const struct cfg_ldap *a, const struct cfg_ldap *b)
{
	return same_list(a->uri, a->n_uri, b->uri, b->n_uri) &&
	       same_text(a->bind_dn, b->bind_dn) &&
	       same_text(a->bind_password_file, b->bind_password_file) &&
	       a->starttls == b->starttls && same_text(a->ca_file, b->ca_file) &&
	       same_text(a->base, b->base) && same_text(a->filter, b->filter) &&
	       same_list(a->attributes, a->n_attributes, b->attributes,
			 b->n_attributes) &&
	       a->timeout == b->timeout && a->publish == b->publish;
}

/* The store (and the master key it unseals keys with) is opened once. */
static bool same_store(const struct cfg *a, const struct cfg *b)
{
	return a->store_settings.backend == b->store_settings.backend &&
	       same_text(a->store.path, b->store.path) &&
	       same_text(a->store.conninfo, b->store.conninfo) &&
	       a->store.busy_timeout == b->store.busy_timeout &&
	       a->store.pool_size == b->store.pool_size &&
	       same_text(a->keys.master_key_file, b->keys.master_key_file) &&
	       same_text(a->keys.pkcs11_module, b->keys.pkcs11_module) &&
	       same_text(a->keys.pkcs11_pin_file, b->keys.pkcs11_pin_file) &&
	       a->keys.process == b->keys.process;
}

/* Settings that only a restart can change: warn when a reload would. */
static void warn_static_changes(const struct cfg *old, const struct cfg *new)
{
	const struct {
		const char *what;
		bool same;
	} checks[] = {
		{ "milter.socket", same_text(old->milter.socket,
					     new->milter.socket) },
		{ "milter.user", same_text(old->milter.user, new->milter.user) },
		{ "milter.pidfile", same_text(old->milter.pidfile,
					      new->milter.pidfile) },
		{ "milter.metrics_listen",
		  same_text(old->milter.metrics_listen,
			    new->milter.metrics_listen) },
		{ "milter.syslog_facility",
		  old->milter.syslog_facility == new->milter.syslog_facility },
		{ "milter.timeout",
		  old->milter.milter_timeout == new->milter.milter_timeout },
		{ "the store or keys group", same_store(old, new) },
		{ "the ldap group's connection settings",
		  same_directory(&old->ldap, &new->ldap) },
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!checks[i].same)
			smx_log(LOG_WARNING, "reload: %s changed; it takes "
				"effect only after a restart", checks[i].what);
}

static void reload(const char *path)
{
	struct cfg *fresh = load_config(path, 0);
	if (fresh == NULL) {
		smx_log(LOG_ERR, "reload: %s has errors; keeping the running "
			"configuration", path);
		return;
	}
	struct cfg *old = runtime_config();
	warn_static_changes(old, fresh);
	cfg_unref(&old);
	apply_log_level(fresh);
	runtime_set_config(fresh);
	signing_cache_clear();	/* options or identities may have changed */
	inbound_cache_clear();
	keyproc_client_replace();	/* it reads the file afresh */
	smx_log(LOG_INFO, "reload: configuration %s loaded", path);
}

static void *reloader(void *arg)
{
	const char *path = arg;
	pthread_mutex_lock(&reload_lock);
	for (;;) {
		while (!reload_pending && !reloader_stop)
			pthread_cond_wait(&reload_wanted, &reload_lock);
		if (reloader_stop)
			break;
		reload_pending = 0;
		pthread_mutex_unlock(&reload_lock);
		reload(path);
		pthread_mutex_lock(&reload_lock);
	}
	pthread_mutex_unlock(&reload_lock);
	return NULL;
}

static void reloader_signal(int stop)
{
	pthread_mutex_lock(&reload_lock);
	if (stop)
		reloader_stop = 1;
	else
		reload_pending = 1;
	pthread_cond_signal(&reload_wanted);
	pthread_mutex_unlock(&reload_lock);
}

static void *milter_thread(void *arg)
{
	int *rc = arg;
	*rc = smfi_main();
	/* Wake the main thread however smfi_main ended. */
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

/* Waits for signals until the daemon should stop. Returns the exit code. */
static int signal_loop(const sigset_t *set)
{
	for (;;) {
		int sig = sigwaitinfo(set, NULL);
		if (sig < 0)
			continue;
		if (sig == SIGHUP) {
			reloader_signal(0);
			continue;
		}
		if (sig == SIGUSR1)	/* smfi_main returned on its own */
			return EXIT_RUNTIME;
		struct cfg *cfg = runtime_config();
		unsigned timeout = cfg->milter.shutdown_timeout;
		cfg_unref(&cfg);
		smx_log(LOG_INFO, "%s: finishing messages in flight (up to "
			"%us)", sig == SIGTERM ? "SIGTERM" : "SIGINT", timeout);
		if (!runtime_drain(timeout))
			smx_log(LOG_WARNING, "shutdown: messages still in "
				"flight after %us; the MTA will retry them",
				timeout);
		smfi_stop();
		return 0;
	}
}

static int setup_milter(const struct cfg *cfg, const char *sock)
{
	/* libmilter keeps the pointer: the copy lives until exit. */
	static char conn_spec[1024];
	snprintf(conn_spec, sizeof(conn_spec), "%s", sock);
	if (smfi_register(milter_description) == MI_FAILURE ||
	    smfi_setconn(conn_spec) == MI_FAILURE ||
	    smfi_settimeout((int)cfg->milter.milter_timeout) == MI_FAILURE) {
		fprintf(stderr, "smime-milter: cannot set up libmilter for "
			"%s\n", sock);
		return -1;
	}
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "smime-milter: cannot listen on %s: %s\n", sock,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Binds milter.metrics_listen, if set, while still root: any port works. */
static int metrics_open(const struct cfg *cfg)
{
	const char *listen = cfg->milter.metrics_listen;
	struct sockaddr_storage addr;
	socklen_t len = 0;
	char err[160] = "not PORT or ADDRESS:PORT";
	if (listen == NULL)
		return 0;
	if (smx_hostport_parse(listen, &addr, &len) &&
	    smx_metrics_http_open((struct sockaddr *)&addr, len,
				  METRICS_HTTP_TIMEOUT_MS, &metrics_http, err,
				  sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "smime-milter: cannot listen for metrics on %s: %s\n",
		listen, err);
	return -1;
}

/* Adds one counter's increase to the store's shared counters, so that
 * smimectl stats sums every process and every MX host sharing it. */
static int flush_to_store(void *unused, const char *name, int64_t delta)
{
	(void)unused;
	struct store *store = runtime_store();
	return store != NULL && store_counter_add(store, name, delta) == SMX_OK
		       ? 0 : -1;
}

/* The metrics threads: after the fork, like every thread. A failure
 * costs the metrics, never the mail. */
static void metrics_start(void)
{
	if (metrics_http != NULL && smx_metrics_http_start(metrics_http) != 0)
		smx_log(LOG_ERR, "cannot start the metrics listener");
	if (smx_metrics_flusher_start(METRICS_FLUSH_SECONDS, flush_to_store,
				      NULL) != 0)
		smx_log(LOG_ERR, "cannot start the metrics flusher: the store's "
			"counters are written at stop only");
	if (expiry_watch_start() != 0)
		smx_log(LOG_ERR, "cannot start the expiry watcher: no expiry "
			"gauge or warnings");
}

static int start_threads(char *config_path, pthread_t *milter_tid,
			 pthread_t *reload_tid, int *milter_rc)
{
	main_thread = pthread_self();
	if (pthread_create(reload_tid, NULL, reloader, config_path))
		return -1;
	if (pthread_create(milter_tid, NULL, milter_thread, milter_rc)) {
		reloader_signal(1);
		pthread_join(*reload_tid, NULL);
		return -1;
	}
	return 0;
}

static int run(const struct options *o, struct cfg *cfg)
{
	const char *sock = o->socket ? o->socket : cfg->milter.socket;
	if (setup_milter(cfg, sock) != 0 || metrics_open(cfg) != 0)
		return EXIT_RUNTIME;
	if (!o->foreground) {
		if (daemon_detach() != 0) {
			perror("smime-milter: cannot detach");
			return EXIT_RUNTIME;
		}
		smx_log_open("smime-milter", SMX_LOG_SYSLOG,
			     cfg->milter.syslog_facility);
	}
	if (cfg->milter.pidfile && pidfile_write(cfg->milter.pidfile) != 0)
		return EXIT_RUNTIME;
	if (cfg->milter.user &&
	    privileges_drop(cfg->milter.user, socket_path(sock)) != 0)
		return EXIT_RUNTIME;
	if (no_core_dumps() != 0) {
		smx_log(LOG_ERR, "cannot disable core dumps: %s",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	smime_init();
	store_set_health_hook(smx_metrics_store_state);
	runtime_open_store(cfg);
	runtime_open_directory(cfg);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* After the mask: its thread must not take the daemon's signals. */
	if (cfg->keys.process &&
	    keyproc_client_start(o->config, o->foreground) != 0)
		return EXIT_RUNTIME;

	runtime_set_config(cfg_ref(cfg));
	pthread_t milter_tid, reload_tid;
	int milter_rc = MI_SUCCESS;
	if (start_threads(o->config, &milter_tid, &reload_tid, &milter_rc)) {
		smx_log(LOG_ERR, "cannot start threads");
		return EXIT_RUNTIME;
	}
	metrics_start();
	(void)revrefresh_start();
	smx_log(LOG_INFO, "smime-milter %s listening on %s", SMX_VERSION, sock);
	int rc = signal_loop(&set);
	pthread_join(milter_tid, NULL);
	if (rc != 0)
		smx_log(LOG_ERR, "milter loop ended unexpectedly (%s)",
			milter_rc == MI_SUCCESS ? "stopped" : "failed");
	reloader_signal(1);
	pthread_join(reload_tid, NULL);
	revrefresh_stop();	/* uses the store */
	if (cfg->milter.pidfile)
		unlink(cfg->milter.pidfile);
	if (socket_path(sock) != NULL)	/* a stale socket confuses admins */
		unlink(socket_path(sock));
	signing_cache_clear();
	inbound_cache_clear();
	smx_metrics_http_close(&metrics_http);
	expiry_watch_stop();
	smx_metrics_flusher_stop();	/* the last increases, while the store is open */
	runtime_close_store();
	keyproc_client_stop();
	runtime_set_config(NULL);
	smx_log(LOG_INFO, "smime-milter stopped");
	return rc;
}

/* A daemon that parses mail from the Internet must never keep root: as
 * root it needs milter.user to drop to. Checked at start, not by -n,
 * which judges the file (who will run it is not known then: systemd may
 * start the daemon as an unprivileged User=). */
static int refuse_root_without_user(const struct cfg *cfg)
{
	if (geteuid() != 0 || cfg->milter.user != NULL)
		return 0;
	fprintf(stderr, "smime-milter: refusing to run as root: set "
		"milter.user to the unprivileged user to switch to after "
		"opening the socket\n");
	return 1;
}

/* The key process, started by the daemon itself (-K is not for people):
 * it logs like the daemon, under its own name. */
static int run_key_process(const struct options *o, struct cfg *cfg)
{
	/* executed through /proc/self/fd/N, it would be named "N" in ps,
	 * top and the journal: named as the program it is */
	(void)prctl(PR_SET_NAME, "smime-milter", 0, 0, 0);
	if (!o->foreground)
		smx_log_open("smime-milter-keys", SMX_LOG_SYSLOG,
			     cfg->milter.syslog_facility);
	apply_log_level(cfg);
	int rc = keyproc_serve(o->key_process_fd, o->key_process_lanes, cfg);
	cfg_unref(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	if (parse_options(argc, argv, &o) != 0)
		return EXIT_USAGE;
	smx_log_open("smime-milter", SMX_LOG_STDERR, LOG_MAIL);
	struct cfg *cfg = load_config(o.config, 1);
	if (cfg == NULL)
		return EXIT_USAGE;
	if (o.key_process_fd >= 0)
		return run_key_process(&o, cfg);
	if (o.socket != NULL && !cfg_socket_valid(o.socket)) {
		fprintf(stderr, "smime-milter: -p %s: not inet:PORT@HOST or "
			"unix:/PATH\n", o.socket);
		cfg_unref(&cfg);
		return EXIT_USAGE;
	}
	if (o.check_only) {
		printf("%s: configuration OK\n", o.config);
		cfg_unref(&cfg);
		return 0;
	}
	if (refuse_root_without_user(cfg)) {
		cfg_unref(&cfg);
		return EXIT_USAGE;
	}
	apply_log_level(cfg);
	int rc = run(&o, cfg);
	smx_metrics_http_close(&metrics_http);	/* after an early failure */
	cfg_unref(&cfg);
	return rc;
}
