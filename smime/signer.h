/* SPDX-License-Identifier: BSD-2-Clause */
/* The signer object, shared by signer.c (set-up, CMS attributes) and
 * sign.c (one message). Not installed. */
#ifndef SMX_SMIME_SIGNER_H
#define SMX_SMIME_SIGNER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/cms.h>

#include <smx/smime.h>

struct smime_signer {
	EVP_PKEY *key;
	X509 *cert;
	X509 *enc_cert;		/* NULL when it is cert */
	STACK_OF(X509) *certs;	/* sent besides cert: enc_cert, chain */
	const EVP_MD *md;
	const char *micalg;
	enum smime_sign_format format;
	size_t threshold;
	char *dir;
};

/* A SignedData ready for content: one signer with SMIMECapabilities,
 * SMIMEEncryptionKeyPreference (when enc_cert is set) and the certificate
 * set. detached: for multipart/signed (stream the content through
 * CMS_dataInit), else for i2d_CMS_bio_stream with the content inside.
 * Returns NULL with err set. Free with CMS_ContentInfo_free. */
CMS_ContentInfo *signer_cms_new(const struct smime_signer *signer,
				bool detached, struct smx_error *err);

#endif
