/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny HTTP/1.0 server for the metrics (milter.metrics_listen): one
 * thread, one poll() loop, up to 16 connections served at once. GET
 * /metrics answers 200 with smx_metrics_render() as `text/plain;
 * version=0.0.4`; any other path 404, any other method 405, a malformed
 * or oversized request 400. A request head is at most 4 KiB; a client
 * must send it and read the answer within the timeout, or it is dropped.
 * With every slot taken, a new connection replaces the oldest one still
 * sending its request: idle or slow clients never keep a scrape out, and
 * memory stays bounded. */
#ifndef SMX_METRICS_HTTP_H
#define SMX_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct smx_metrics_http;

/* Binds addr and listens (before privileges are dropped, so that any port
 * works). timeout_ms bounds reading a request and writing its answer.
 * Returns 0 and *http_r (owned by the caller), or -1 with the reason in
 * err. No thread is started yet (the daemon may still fork). */
int smx_metrics_http_open(const struct sockaddr *addr, socklen_t len,
			  unsigned timeout_ms,
			  struct smx_metrics_http **http_r, char *err,
			  size_t err_size);

/* The port actually bound (useful when addr asked for port 0). */
unsigned short smx_metrics_http_port(const struct smx_metrics_http *http);

/* Starts the serving thread. Returns 0 or -1. */
int smx_metrics_http_start(struct smx_metrics_http *http);

/* Stops the thread (if started), closes the socket, frees *http and sets
 * it NULL. NULL-safe. */
void smx_metrics_http_close(struct smx_metrics_http **http);

#endif
