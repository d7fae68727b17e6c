/* SPDX-License-Identifier: BSD-2-Clause */
/* The schema of each backend, as numbered migrations: entry i upgrades a
 * database from version i to i + 1. Add new entries at the end, for both
 * backends at once, and never edit an entry that has shipped. */
#include "store-private.h"

/* The two dialects differ in column types only (BLOB/BYTEA, the
 * auto-increment key); the statements the store runs are shared. */
#define SCHEMA_V1(BLOB, SERIAL_PK) \
	"CREATE TABLE store_meta (" \
	"  name TEXT PRIMARY KEY," \
	"  value " BLOB ");" \
	"CREATE TABLE certs (" \
	"  fingerprint TEXT PRIMARY KEY," \
	"  der " BLOB " NOT NULL," \
	"  subject TEXT NOT NULL," \
	"  issuer TEXT NOT NULL," \
	"  serial TEXT NOT NULL," \
	"  not_before BIGINT NOT NULL," \
	"  not_after BIGINT NOT NULL," \
	"  key_usage INTEGER NOT NULL," \
	"  eku INTEGER NOT NULL," \
	"  key_type TEXT NOT NULL," \
	"  is_ca INTEGER NOT NULL," \
	"  source INTEGER NOT NULL," \
	"  trust INTEGER NOT NULL," \
	"  revoked INTEGER NOT NULL DEFAULT 0," \
	"  first_seen BIGINT NOT NULL," \
	"  last_seen BIGINT NOT NULL," \
	"  smime_caps " BLOB ");" \
	"CREATE INDEX certs_not_after ON certs (not_after);" \
	"CREATE TABLE cert_emails (" \
	"  email TEXT NOT NULL," \
	"  fingerprint TEXT NOT NULL REFERENCES certs (fingerprint)" \
	"    ON DELETE CASCADE," \
	"  PRIMARY KEY (email, fingerprint));" \
	"CREATE INDEX cert_emails_fp ON cert_emails (fingerprint);" \
	"CREATE TABLE cert_keys (" \
	"  fingerprint TEXT PRIMARY KEY REFERENCES certs (fingerprint)" \
	"    ON DELETE CASCADE," \
	"  sealed " BLOB " NOT NULL," \
	"  created BIGINT NOT NULL);" \
	"CREATE TABLE anchors (" \
	"  fingerprint TEXT PRIMARY KEY," \
	"  der " BLOB " NOT NULL," \
	"  subject TEXT NOT NULL," \
	"  not_after BIGINT NOT NULL," \
	"  added BIGINT NOT NULL);" \
	"CREATE TABLE enc_preferences (" \
	"  email TEXT PRIMARY KEY," \
	"  fingerprint TEXT NOT NULL," \
	"  updated BIGINT NOT NULL);" \
	"CREATE TABLE dir_cache (" \
	"  email TEXT PRIMARY KEY," \
	"  found INTEGER NOT NULL," \
	"  fetched BIGINT NOT NULL," \
	"  expires BIGINT NOT NULL);" \
	"CREATE INDEX dir_cache_expires ON dir_cache (expires);" \
	"CREATE TABLE harvest_log (" \
	"  id " SERIAL_PK "," \
	"  logged_at BIGINT NOT NULL," \
	"  message_id TEXT," \
	"  sender TEXT NOT NULL," \
	"  fingerprint TEXT NOT NULL," \
	"  created INTEGER NOT NULL);" \
	"CREATE INDEX harvest_log_at ON harvest_log (logged_at);" \
	"CREATE TABLE counters (" \
	"  name TEXT PRIMARY KEY," \
	"  value BIGINT NOT NULL);"

/* Version 2: the harvest log also records the From header address and
 * whether the certificate's chain was trusted. */
#define SCHEMA_V2 \
	"ALTER TABLE harvest_log ADD COLUMN header_from TEXT;" \
	"ALTER TABLE harvest_log ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;"

/* Version 3: a certificate learned from mail or from the directory is
 * filed only under the address that was validated for it (the From
 * address of a harvest, the address looked up). Rows filed before under
 * any other address stop counting: a harvested or directory
 * certificate keeps only the addresses its harvest log records as the
 * From it was harvested for, and every positive directory-cache entry
 * is dropped so that the next lookup asks the directory again and files
 * its answer anew. (That the certificate is issued to the address, by
 * its SAN, is checked at every selection, which no SQL could check
 * here.) */
#define SCHEMA_V3 \
	"DELETE FROM cert_emails WHERE fingerprint IN (" \
	"  SELECT fingerprint FROM certs WHERE source IN (1, 2))" \
	"  AND NOT EXISTS (SELECT 1 FROM harvest_log h" \
	"    WHERE h.fingerprint = cert_emails.fingerprint" \
	"      AND lower(h.header_from) = cert_emails.email);" \
	"DELETE FROM dir_cache WHERE found <> 0;"

/* Version 4: the SMIMECapabilities of a certificate carry the signing
 * time of the message they came from, and only a newer one replaces
 * them (an old message replayed cannot bring back weaker algorithms).
 * Capabilities recorded before were replaced at every sighting, so
 * they are at least as new as the last one. */
#define SCHEMA_V4 \
	"ALTER TABLE certs ADD COLUMN caps_signed_at BIGINT;" \
	"UPDATE certs SET caps_signed_at = last_seen" \
	"  WHERE smime_caps IS NOT NULL;"

/* Version 5: the revocation status of certificates (OCSP, CRL), shared
 * by every host on the store and reused until valid_until. The table
 * may exist already when a test (or an administrator) set the version
 * back, hence IF NOT EXISTS. */
#define SCHEMA_V5 \
	"CREATE TABLE IF NOT EXISTS revocation_status (" \
	"  fingerprint TEXT PRIMARY KEY," \
	"  status INTEGER NOT NULL," \
	"  source TEXT NOT NULL," \
	"  detail TEXT," \
	"  checked_at BIGINT NOT NULL," \
	"  next_update BIGINT NOT NULL," \
	"  valid_until BIGINT NOT NULL," \
	"  unknown_logged INTEGER NOT NULL DEFAULT 0);" \
	"CREATE INDEX IF NOT EXISTS revocation_status_valid" \
	"  ON revocation_status (valid_until);"

/* Version 6: a private key may live in a PKCS#11 token instead of the
 * store: its row names the key by a PKCS#11 URI and holds no key
 * material (an empty sealed value). */
#define SCHEMA_V6 \
	"ALTER TABLE cert_keys ADD COLUMN token_uri TEXT;"

const char *const store_schema_sqlite[STORE_SCHEMA_VERSION] = {
	SCHEMA_V1("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
	SCHEMA_V2,
	SCHEMA_V3,
	SCHEMA_V4,
	SCHEMA_V5,
	SCHEMA_V6,
};

const char *const store_schema_pgsql[STORE_SCHEMA_VERSION] = {
	SCHEMA_V1("BYTEA", "BIGSERIAL PRIMARY KEY"),
	SCHEMA_V2,
	SCHEMA_V3,
	SCHEMA_V4,
	SCHEMA_V5,
	SCHEMA_V6,
};
